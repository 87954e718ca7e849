import { formatBytes, formatDuration } from '../units.js';

export interface ProgressSnapshot {
  filesDone: number;
  bytesDone: number;
  filesTotal?: number;
  bytesTotal?: number;
  currentPath?: string;
}

/** A single self-rewriting status line on a terminal's stderr, or JSON lines, or nothing. */
export class ProgressLine {
  private readonly started = Date.now();
  private shown = false;

  constructor(
    private readonly mode: 'tty' | 'json' | 'none',
    private readonly verb: string,
  ) {}

  static choose(json: boolean, verb: string): ProgressLine {
    return new ProgressLine(json ? 'json' : process.stderr.isTTY ? 'tty' : 'none', verb);
  }

  update(p: ProgressSnapshot): void {
    const elapsed = (Date.now() - this.started) / 1000;
    const rate = elapsed > 0 ? p.bytesDone / elapsed : 0;
    const eta = p.bytesTotal && rate > 0 ? (p.bytesTotal - p.bytesDone) / rate : Number.NaN;
    if (this.mode === 'json') {
      process.stdout.write(`${JSON.stringify({ type: 'progress', files_done: p.filesDone, bytes_done: p.bytesDone, files_total: p.filesTotal ?? null, bytes_total: p.bytesTotal ?? null, bytes_per_second: Math.round(rate), eta_seconds: Number.isFinite(eta) ? Math.round(eta) : null })}\n`);
      return;
    }
    if (this.mode !== 'tty') return;
    const pct = p.bytesTotal ? ` ${Math.min(100, (100 * p.bytesDone) / Math.max(1, p.bytesTotal)).toFixed(1)}%` : '';
    const of = p.filesTotal !== undefined ? `/${p.filesTotal}` : '';
    const ofBytes = p.bytesTotal !== undefined ? ` / ${formatBytes(p.bytesTotal)}` : '';
    let line = `${this.verb}${pct}  ${p.filesDone}${of} files  ${formatBytes(p.bytesDone)}${ofBytes}  ${formatBytes(rate)}/s  ETA ${formatDuration(eta)}  ${formatDuration(elapsed)} elapsed`;
    const cols = process.stderr.columns ?? 100;
    if (line.length > cols - 1) line = line.slice(0, cols - 1);
    process.stderr.write(`\r\x1b[K${line}`);
    this.shown = true;
  }

  done(): void {
    if (this.shown) process.stderr.write('\r\x1b[K');
    this.shown = false;
  }
}
