import { formatBytes, formatDuration } from '../units.js';

export interface ProgressSnapshot {
  filesDone: number;
  bytesDone: number;
  filesTotal?: number;
  bytesTotal?: number;
  currentPath?: string;
}

/** How live progress is shown: a line rewritten in place on a terminal, a line every few seconds, or not at all. */
export type LiveMode = 'tty' | 'lines' | 'none';

const settings = { force: false, quiet: false };
/** On a pipe or a file, `--progress` prints a progress line this often. */
export const LINES_EVERY_MS = 2000;

/** The global `--progress` (also on a pipe) and `--quiet` (never), set once per command. */
export function configureProgress(options: { progress?: boolean; quiet?: boolean }): void {
  settings.force = Boolean(options.progress);
  settings.quiet = Boolean(options.quiet);
}

/** Live progress on stderr: on a terminal unless --quiet, elsewhere only with --progress; never beside --json. */
export function liveMode(json: boolean): LiveMode {
  if (json || settings.quiet) return 'none';
  if (process.stderr.isTTY) return 'tty';
  return settings.force ? 'lines' : 'none';
}

/** A free-form status line ("read 12/40 packs") shown the liveMode way. */
export class StatusLine {
  private shown = false;
  private lastLine = 0;

  constructor(readonly mode: LiveMode) {}

  static choose(json: boolean): StatusLine {
    return new StatusLine(liveMode(json));
  }

  get live(): boolean {
    return this.mode !== 'none';
  }

  update(text: string, force = false): void {
    if (this.mode === 'none') return;
    if (this.mode === 'lines') {
      const now = Date.now();
      if (!force && now - this.lastLine < LINES_EVERY_MS) return;
      this.lastLine = now;
      process.stderr.write(`${text}\n`);
      return;
    }
    const cols = process.stderr.columns ?? 100;
    process.stderr.write(`\r\x1b[K${text.length > cols - 1 ? text.slice(0, cols - 1) : text}`);
    this.shown = true;
  }

  /** A line that stays (a problem, a note): the live line is cleared first and drawn again by the next update. */
  print(line: string): void {
    this.done();
    process.stderr.write(`${line}\n`);
  }

  done(): void {
    if (this.shown) process.stderr.write('\r\x1b[K');
    this.shown = false;
  }
}

/** A single self-rewriting status line on a terminal's stderr, or JSON lines, or nothing. */
export class ProgressLine {
  private readonly started = Date.now();
  private readonly line: StatusLine;

  constructor(
    private readonly mode: 'tty' | 'lines' | 'json' | 'none',
    private readonly verb: string,
  ) {
    this.line = new StatusLine(mode === 'json' ? 'none' : mode);
  }

  static choose(json: boolean, verb: string): ProgressLine {
    return new ProgressLine(json ? 'json' : liveMode(false), verb);
  }

  /** Whether anyone sees updates (else callers may skip the work of counting totals). */
  get wanted(): boolean {
    return this.mode !== 'none';
  }

  update(p: ProgressSnapshot): void {
    const elapsed = (Date.now() - this.started) / 1000;
    const rate = elapsed > 0 ? p.bytesDone / elapsed : 0;
    const eta = p.bytesTotal && rate > 0 ? (p.bytesTotal - p.bytesDone) / rate : Number.NaN;
    if (this.mode === 'json') {
      process.stdout.write(
        `${JSON.stringify({ type: 'progress', files_done: p.filesDone, bytes_done: p.bytesDone, files_total: p.filesTotal ?? null, bytes_total: p.bytesTotal ?? null, bytes_per_second: Math.round(rate), eta_seconds: Number.isFinite(eta) ? Math.round(eta) : null })}\n`,
      );
      return;
    }
    if (!this.line.live) return;
    const pct = p.bytesTotal ? ` ${Math.min(100, (100 * p.bytesDone) / Math.max(1, p.bytesTotal)).toFixed(1)}%` : '';
    const of = p.filesTotal !== undefined ? `/${p.filesTotal}` : '';
    const ofBytes = p.bytesTotal !== undefined ? ` / ${formatBytes(p.bytesTotal)}` : '';
    this.line.update(
      `${this.verb}${pct}  ${p.filesDone}${of} files  ${formatBytes(p.bytesDone)}${ofBytes}  ${formatBytes(rate)}/s  ETA ${formatDuration(eta)}  ${formatDuration(elapsed)} elapsed`,
    );
  }

  done(): void {
    this.line.done();
  }
}
