import { spawn, type ChildProcess } from 'node:child_process';
import { childEnv } from '../sys/child-env.js';
import { constants, promises as fs } from 'node:fs';
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
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
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
  return (errors.at(-1) ?? messages.filter(Boolean).at(-1) ?? 'rclone failed')
    .replace(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d /, '')
    .replace(/^(ERROR|CRITICAL|Failed to \w+( with \d+ errors?: last error was)?:?)\s*:?\s*/i, '')
    .trim();
}

/** rclone's stats object (a `--use-json-log` stats line's, or the rc API's core/stats answer). */
export function statsFromJson(s: Record<string, unknown>): TransferStats {
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
}

/** Parses one `--use-json-log` stats line; null for anything else. */
export function parseStatsLine(line: string): TransferStats | null {
  if (!line.startsWith('{')) return null;
  try {
    const j = JSON.parse(line) as { stats?: Record<string, unknown> };
    return j.stats ? statsFromJson(j.stats) : null;
  } catch {
    return null;
  }
}

/** The version in `rclone version` output ("rclone v1.60.1-DEV ..."), e.g. "1.60.1-DEV"; NO_RCLONE when there is none or it is too old. */
export function checkRcloneVersion(binary: string, output: string): string {
  const m = /rclone v(\d+)\.(\d+)\S*/.exec(output);
  if (!m) throw new SinkiError('NO_RCLONE', `${binary} is not rclone (no version)`);
  const [maj, min] = [Number(m[1]), Number(m[2])];
  if (maj < MIN_RCLONE_VERSION[0] || (maj === MIN_RCLONE_VERSION[0] && min < MIN_RCLONE_VERSION[1])) {
    throw new SinkiError('NO_RCLONE', `rclone ${m[0].slice(7)} is too old; sinki needs ${MIN_RCLONE_VERSION.join('.')} or newer`);
  }
  return m[0].slice(7);
}

/** Where setpriv (util-linux) may be: it sets a parent-death signal, then runs the program. */
const SETPRIV_PATHS = ['/usr/bin/setpriv', '/bin/setpriv'];
/** What setpriv says when it cannot start the program (exit status 127). */
const SETPRIV_EXEC_FAILED = /^setpriv: failed to execute/m;
/** What a setpriv older than util-linux 2.33 says to --pdeathsig (exit status 1). */
const SETPRIV_NO_PDEATHSIG = /^setpriv: unrecognized option/m;

/**
 * How rclone is started: through `setpriv --pdeathsig TERM` where there is one, so that the kernel
 * ends rclone when sinki dies, however it dies (SIGKILL included, when no exit handler runs). Without
 * it (not Linux, no util-linux, or one too old for --pdeathsig), rclone is started directly: sinki's
 * exit handlers end it on Ctrl-C and errors, it dies of SIGPIPE at its next log line once sinki's end
 * of its stderr is gone, and a push clears what a killed one left on its next run.
 */
let setpriv: Promise<string | null> | null = null;
let setprivPath: string | null = null;
let pdeathsigRefused = false;

function findSetpriv(): Promise<string | null> {
  setpriv ??= (async () => {
    for (const p of SETPRIV_PATHS) {
      const runnable = await fs.access(p, constants.X_OK).then(
        () => true,
        () => false,
      );
      if (runnable) {
        setprivPath = p;
        return p;
      }
    }
    return null;
  })();
  return setpriv;
}

function launcher(): string[] {
  return setprivPath && !pdeathsigRefused ? [setprivPath, '--pdeathsig', 'TERM', '--'] : [];
}

/**
 * Whether an rclone run that exited so was refused by an old setpriv (and not run at all); from then
 * on rclone is started directly, and the caller starts it again.
 */
export function launcherRefused(code: number | null, stderr: string): boolean {
  if (code !== 1 || pdeathsigRefused || !SETPRIV_NO_PDEATHSIG.test(stderr)) return false;
  pdeathsigRefused = true;
  return true;
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
      return checkRcloneVersion(this.options.binary, out.stdout.toString());
    })();
    return this.checked;
  }

  /**
   * Starts rclone (through the parent-death launcher once it is known: every async path looks for
   * it first, and the backend's server starts after version()).
   */
  spawn(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
    const [cmd, ...rest] = [...launcher(), this.options.binary, ...args];
    return spawn(cmd!, rest, { env: childEnv({ ...this.options.env, ...env }), stdio: ['ignore', 'pipe', 'pipe'] });
  }

  /** spawn() once the launcher is known; a missing binary rejects with NO_RCLONE. */
  async spawnChecked(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ChildProcess> {
    await findSetpriv();
    const child = this.spawn(args, env);
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' ? this.notFound() : e));
    });
    return child;
  }

  private notFound(): SinkiError {
    return new SinkiError('NO_RCLONE', `rclone not found (${this.options.binary}); install it (apt-get install rclone) or give --rclone PATH`);
  }

  /** The error for an rclone that exited with this status and stderr (NO_RCLONE when the launcher could not start it). */
  exitError(command: string, code: number | null, stderr: string): SinkiError {
    if (code === 127 && SETPRIV_EXEC_FAILED.test(stderr)) return this.notFound();
    return new SinkiError('RCLONE', `rclone ${command}: ${rcloneErrorMessage(stderr)}`);
  }

  private async runRaw(args: string[], onStderrLine?: (line: string) => void): Promise<RunResult> {
    await findSetpriv();
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
        reject(e.code === 'ENOENT' ? this.notFound() : e);
      });
      child.on('close', (code) => {
        if (code === 0) resolve({ stdout: Buffer.concat(out), stderr: err });
        else if (launcherRefused(code, err)) resolve(this.runRaw(args, onStderrLine));
        else reject(this.exitError(args[0]!, code, err));
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
    checked.catch(() => undefined); // awaited below, whichever of the two ends first
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
