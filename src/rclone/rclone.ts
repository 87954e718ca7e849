import { spawn, type ChildProcess } from 'node:child_process';
import { SinkiError } from '../errors.js';

/** Oldest rclone whose flags and JSON stats Sinki relies on. */
export const MIN_RCLONE_VERSION: readonly [number, number] = [1, 50];

export interface RcloneOptions {
  /** The binary (--rclone / SINKI_RCLONE), default "rclone" on PATH. */
  binary: string;
  /** Extra environment for rclone (e.g. RCLONE_CONFIG from the user's environment). */
  env: NodeJS.ProcessEnv;
}

export interface TransferStats {
  bytes: number;
  totalBytes: number;
  speed: number;
  eta: number | null;
  transfers: number;
  totalTransfers: number;
  errors: number;
}

export interface RunResult {
  stdout: Buffer;
  stderr: string;
}

/** `REMOTE:PATH` joined with a relative path (`remote:` + `a` is `remote:a`, not `remote:/a`). */
export function remoteJoin(remote: string, path: string): string {
  return remote.endsWith(':') || remote.endsWith('/') ? `${remote}${path}` : `${remote}/${path}`;
}

/** rclone's own message from its stderr (JSON log lines or plain), the last error it reported. */
export function rcloneErrorMessage(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  const messages = lines.map((l) => {
    if (!l.startsWith('{')) return l;
    try {
      const j = JSON.parse(l) as { level?: string; msg?: string; object?: string };
      return j.level === 'error' || j.level === 'critical' ? `${j.object ? `${j.object}: ` : ''}${j.msg ?? ''}` : '';
    } catch {
      return l;
    }
  });
  const errors = messages.filter((m) => m && /error|fail|denied|not found|couldn't|unauthor|quota|refused|timeout/i.test(m));
  return (errors.at(-1) ?? messages.filter(Boolean).at(-1) ?? 'rclone failed').replace(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d /, '').replace(/^(ERROR|CRITICAL|Failed to \w+( with \d+ errors?: last error was)?:?)\s*:?\s*/i, '').trim();
}

/** Parses one `--use-json-log` stats line; null for anything else. */
export function parseStatsLine(line: string): TransferStats | null {
  if (!line.startsWith('{')) return null;
  try {
    const j = JSON.parse(line) as { stats?: Record<string, unknown> };
    const s = j.stats;
    if (!s) return null;
    const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
    return {
      bytes: num(s.bytes),
      totalBytes: num(s.totalBytes),
      speed: num(s.speed),
      eta: typeof s.eta === 'number' ? s.eta : null,
      transfers: num(s.transfers),
      totalTransfers: num(s.totalTransfers),
      errors: num(s.errors),
    };
  } catch {
    return null;
  }
}

export class Rclone {
  private checked: Promise<string> | null = null;

  constructor(readonly options: RcloneOptions) {}

  /** The version string; NO_RCLONE when the binary is missing or too old. */
  version(): Promise<string> {
    this.checked ??= (async () => {
      let out: RunResult;
      try {
        out = await this.runRaw(['version']);
      } catch (err) {
        if (err instanceof SinkiError && err.code === 'NO_RCLONE') throw err;
        throw new SinkiError('NO_RCLONE', `${this.options.binary} does not work: ${(err as Error).message}`);
      }
      const m = /rclone v(\d+)\.(\d+)\S*/.exec(out.stdout.toString());
      if (!m) throw new SinkiError('NO_RCLONE', `${this.options.binary} is not rclone (no version)`);
      const [maj, min] = [Number(m[1]), Number(m[2])];
      if (maj < MIN_RCLONE_VERSION[0] || (maj === MIN_RCLONE_VERSION[0] && min < MIN_RCLONE_VERSION[1])) {
        throw new SinkiError('NO_RCLONE', `rclone ${m[0].slice(7)} is too old; sinki needs ${MIN_RCLONE_VERSION.join('.')} or newer`);
      }
      return m[0].slice(7);
    })();
    return this.checked;
  }

  spawn(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
    return spawn(this.options.binary, args, { env: { ...process.env, ...this.options.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  }

  private runRaw(args: string[], onStderrLine?: (line: string) => void): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      const child = this.spawn(args);
      const out: Buffer[] = [];
      let err = '';
      let partial = '';
      child.stdout!.on('data', (d: Buffer) => out.push(d));
      child.stderr!.on('data', (d: Buffer) => {
        const text = d.toString();
        err += text;
        if (err.length > 1_000_000) err = err.slice(-500_000);
        if (onStderrLine) {
          partial += text;
          const lines = partial.split('\n');
          partial = lines.pop() ?? '';
          for (const l of lines) onStderrLine(l);
        }
      });
      child.on('error', (e: NodeJS.ErrnoException) => {
        reject(e.code === 'ENOENT' ? new SinkiError('NO_RCLONE', `rclone not found (${this.options.binary}); install it (apt-get install rclone) or give --rclone PATH`) : e);
      });
      child.on('close', (code) => {
        if (code === 0) resolve({ stdout: Buffer.concat(out), stderr: err });
        else reject(new SinkiError('RCLONE', `rclone ${args[0]}: ${rcloneErrorMessage(err)}`));
      });
    });
  }

  /**
   * Runs an rclone command; a failure is one line with rclone's own message (code RCLONE). The
   * version check runs beside the first command rather than before it (each rclone start costs
   * a few tenths of a second); a missing or too old rclone is still what gets reported.
   */
  async run(args: string[], onStderrLine?: (line: string) => void): Promise<RunResult> {
    const checked = this.version();
    try {
      const result = await this.runRaw(args, onStderrLine);
      await checked;
      return result;
    } catch (err) {
      await checked;
      throw err;
    }
  }
}
