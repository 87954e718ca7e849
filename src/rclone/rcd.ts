import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { SinkiError } from '../errors.js';
import { checkRcloneVersion, launcherRefused, rcloneErrorMessage, statsFromJson, type Rclone, type TransferStats } from './rclone.js';

/** How often a running job's stats are read for progress (rclone's own --stats default is 1s too). */
const STATS_INTERVAL_MS = 1000;
const START_TIMEOUT_MS = 30_000;

export type RcParams = Record<string, unknown>;

/**
 * One `rclone rcd` on 127.0.0.1, driven through rclone's remote-control API: a push makes a dozen
 * rclone operations, and as separate processes each paid rclone's start and its own listing of the
 * remote (docs/BENCHMARKS.md). Global flags (bandwidth limit with its timetable, transfers, dry run)
 * are given once at start and hold for every job together.
 *
 * Only the user that runs sinki can call it: a random user and password go through the child's
 * environment (not its command line, which every local user can read). Like every rclone child it
 * dies with sinki (see Rclone.spawn), and `close()` ends it by pid.
 */
export class RcloneDaemon {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 16 });
  private exited = false;
  private groups = 0;
  private reported = '';
  private readonly killOnExit = (): void => {
    if (!this.exited) this.child.kill('SIGKILL');
  };

  private constructor(
    readonly rclone: Rclone,
    private readonly child: ReturnType<Rclone['spawn']>,
    private readonly port: number,
    private readonly auth: string,
  ) {
    child.on('exit', () => (this.exited = true));
    // Ctrl-C ends sinki from a signal handler, past any finally: exit handlers still run.
    process.once('exit', this.killOnExit);
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** rclone's version as it reported it (e.g. "1.60.1"). */
  get version(): string {
    return this.reported;
  }

  /** Starts the daemon with these global flags; NO_RCLONE when the binary is missing or too old, RCLONE when it does not come up. */
  static async start(rclone: Rclone, flags: readonly string[]): Promise<RcloneDaemon> {
    const user = 'sinki';
    const pass = randomBytes(18).toString('base64url');
    const child = await rclone.spawnChecked(
      // Jobs run as long as they take: a large push must not be cut by the server's default write timeout of 1h.
      ['rcd', '--rc-addr', '127.0.0.1:0', '--rc-server-write-timeout', '8760h', '--use-json-log', ...flags],
      { RCLONE_RC_USER: user, RCLONE_RC_PASS: pass },
    );
    let stderr = '';
    const port = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new SinkiError('RCLONE', `rclone rcd did not come up: ${rcloneErrorMessage(stderr)}`));
      }, START_TIMEOUT_MS);
      child.stderr!.on('data', (d: Buffer) => {
        stderr = (stderr + d.toString()).slice(-100_000);
        const m = /Serving remote control on http:\/\/127\.0\.0\.1:(\d+)/.exec(stderr);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        if (launcherRefused(code, stderr)) resolve(null);
        else reject(rclone.exitError('rcd', code, stderr));
      });
    });
    if (port === null) return RcloneDaemon.start(rclone, flags);
    // Later log lines are read only to keep the pipe flowing; errors come back in the API's answers.
    child.stderr!.removeAllListeners('data');
    child.stderr!.resume();
    child.stdout!.resume();
    const auth = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    const daemon = new RcloneDaemon(rclone, child, port, auth);
    try {
      daemon.reported = checkRcloneVersion(rclone.options.binary, `rclone ${String((await daemon.call('core/version')).version ?? '')}`);
    } catch (err) {
      daemon.close();
      throw err;
    }
    return daemon;
  }

  /** One API call; a failure is one line with rclone's message (code RCLONE), named by `label` (default the method). */
  call(method: string, params: RcParams = {}, label = method): Promise<Record<string, unknown>> {
    const body = JSON.stringify(params);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: this.port,
          path: `/${method}`,
          method: 'POST',
          agent: this.agent,
          headers: { authorization: this.auth, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString();
            let json: Record<string, unknown> = {};
            try {
              json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
            } catch {
              json = { error: text.trim() };
            }
            if (res.statusCode === 200) resolve(json);
            else reject(new SinkiError('RCLONE', `rclone ${label}: ${rcErrorMessage(json.error, res.statusCode)}`, { cause: json }));
          });
          res.on('error', reject);
        },
      );
      req.on('error', (err) => reject(new SinkiError('RCLONE', `rclone ${label}: ${this.exited ? 'rclone ended unexpectedly' : err.message}`, { cause: err })));
      req.end(body);
    });
  }

  /**
   * A transfer (sync/copy, sync/move, sync/sync) in a stats group of its own: its stats reach
   * `onStats` every second while it runs, and once more at the end. Returns its final stats.
   */
  async transfer(method: string, params: RcParams, label: string, onStats?: (s: TransferStats) => void): Promise<TransferStats> {
    const group = `sinki-${++this.groups}`;
    const stats = async (): Promise<TransferStats> => statsFromJson(await this.call('core/stats', { group }));
    let timer: NodeJS.Timeout | null = null;
    if (onStats) {
      timer = setInterval(() => {
        void stats().then(onStats, () => undefined);
      }, STATS_INTERVAL_MS);
    }
    try {
      await this.call(method, { ...params, _group: group }, label);
    } finally {
      if (timer) clearInterval(timer);
    }
    const done = await stats();
    onStats?.(done);
    return done;
  }

  /**
   * Ends the daemon (SIGTERM, by pid) without waiting for it: its jobs are done, and sinki's exit
   * need not wait for rclone's. Whatever is still alive when sinki exits gets SIGKILL.
   */
  close(): void {
    this.agent.destroy();
    if (this.exited) return;
    this.child.kill('SIGTERM');
    this.child.unref();
    for (const stream of [this.child.stdout, this.child.stderr]) (stream as unknown as { unref?: () => void } | null)?.unref?.();
  }
}

function rcErrorMessage(error: unknown, status: number | undefined): string {
  const text = typeof error === 'string' && error ? error : `HTTP ${status ?? '?'}`;
  return rcloneErrorMessage(text);
}
