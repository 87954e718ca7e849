import { request } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { SinkiError } from '../errors.js';
import { rcloneErrorMessage, type Rclone } from '../rclone/rclone.js';
import { tooLarge, type Backend } from './backend.js';
import type { RangeCache } from './range-cache.js';

/** Remote stores are named `rclone:REMOTE:PATH` on the command line. */
export const RCLONE_PREFIX = 'rclone:';

export function isRcloneLocation(location: string): boolean {
  return location.startsWith(RCLONE_PREFIX);
}

/** How long `rclone serve` may take to say where it listens. */
const SERVE_START_MS = 15_000;

export interface FetchCounter {
  requests: number;
  bytes: number;
}

/**
 * A store on any rclone remote, read-only: listings through `rclone lsjson`, bytes through an
 * `rclone serve restic` child bound to 127.0.0.1, through a capped local cache of ciphertext ranges.
 *
 * `serve restic` hands each HTTP Range to the remote as one ranged read of exactly those bytes.
 * `serve http` goes through rclone's VFS, whose chunked reader asks the remote for up to 128 MiB
 * from the offset and reads ahead into a 16 MiB buffer: reading one file through the mount pulled
 * many times its size from a WebDAV remote (docs/BENCHMARKS.md). Its paths are the store's own (it
 * renames only `data/NAME`, which a sinki store does not have).
 */
export class RcloneBackend implements Backend {
  readonly writable = false;
  readonly fetched: FetchCounter = { requests: 0, bytes: 0 };
  private server: Promise<{ port: number; auth: string; child: ChildProcess }> | null = null;

  constructor(
    private readonly rclone: Rclone,
    /** REMOTE:PATH as rclone understands it. */
    readonly remote: string,
    private readonly cache: RangeCache | null,
  ) {}

  get location(): string {
    return `${RCLONE_PREFIX}${this.remote}`;
  }

  private remotePath(path: string): string {
    const base = this.remote.endsWith('/') || this.remote.endsWith(':') ? this.remote : `${this.remote}/`;
    return path ? `${base}${path}` : this.remote;
  }

  private startServer(): Promise<{ port: number; auth: string; child: ChildProcess }> {
    this.server ??= (async () => {
      await this.rclone.version();
      const user = 'sinki';
      const pass = randomBytes(16).toString('hex');
      // The credentials go through the environment: a command line is readable by every local user.
      // serve restic has no read-only mode; --append-only refuses deletes and overwrites, and nobody else can log in.
      // Port 0: the kernel picks a free port and rclone says which; a port found free first could be taken meanwhile.
      const child = this.rclone.spawn(['serve', 'restic', this.remote, '--addr', '127.0.0.1:0', '--append-only'], { RCLONE_USER: user, RCLONE_PASS: pass });
      let stderr = '';
      const port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new SinkiError('RCLONE', `rclone serve ${this.remote} did not come up: ${rcloneErrorMessage(stderr)}`));
        }, SERVE_START_MS);
        child.stderr!.on('data', (d: Buffer) => {
          stderr = (stderr + d.toString()).slice(-4000);
          const m = /Serving restic REST API on http:\/\/127\.0\.0\.1:(\d+)/.exec(stderr);
          if (m) {
            clearTimeout(timer);
            resolve(Number(m[1]));
          }
        });
        child.once('exit', () => {
          clearTimeout(timer);
          reject(new SinkiError('RCLONE', `rclone serve ${this.remote}: ${rcloneErrorMessage(stderr)}`));
        });
        child.once('error', (err) => {
          clearTimeout(timer);
          reject(new SinkiError('NO_RCLONE', `cannot run rclone: ${err.message}`));
        });
      });
      child.stdout!.resume();
      child.unref();
      (child.stdout as unknown as { unref?: () => void }).unref?.();
      (child.stderr as unknown as { unref?: () => void }).unref?.();
      process.once('exit', () => child.kill());
      const auth = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
      return { port, auth, child };
    })();
    return this.server;
  }

  private async get(path: string, range?: { offset: number; length: number }, maxBytes?: number): Promise<Buffer> {
    const { port, auth } = await this.startServer();
    const headers: Record<string, string> = { authorization: auth };
    if (range) headers.range = `bytes=${range.offset}-${range.offset + range.length - 1}`;
    const urlPath = `/${path.split('/').map(encodeURIComponent).join('/')}`;
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: urlPath, headers }, (res) => {
        const parts: Buffer[] = [];
        let received = 0;
        const limit = maxBytes ?? (range && res.statusCode === 206 ? range.length + 65_536 : undefined);
        res.on('data', (d: Buffer) => {
          received += d.length;
          if (limit !== undefined && received > limit && (res.statusCode ?? 500) < 300) {
            req.destroy();
            try {
              tooLarge(path, Number(res.headers['content-length'] ?? received), limit);
            } catch (err) {
              reject(err);
            }
            return;
          }
          parts.push(d);
        });
        res.on('end', () => {
          const body = Buffer.concat(parts);
          this.fetched.requests += 1;
          this.fetched.bytes += body.length;
          if (res.statusCode === 404) reject(new SinkiError('NOT_FOUND', `${path}: not found on ${this.remote}`));
          else if ((res.statusCode ?? 500) >= 300)
            reject(new SinkiError('RCLONE', `reading ${path} from ${this.remote}: HTTP ${res.statusCode} ${body.toString().slice(0, 200).trim()}`));
          else if (range && res.statusCode !== 206) resolve(body.subarray(range.offset, range.offset + range.length));
          else resolve(body);
        });
        res.on('error', (e) => reject(new SinkiError('RCLONE', `reading ${path} from ${this.remote}: ${e.message}`)));
      });
      req.on('error', (e) => reject(new SinkiError('RCLONE', `reading ${path} from ${this.remote}: ${e.message}`)));
      req.end();
    });
  }

  async read(path: string, maxBytes?: number): Promise<Buffer> {
    return this.get(path, undefined, maxBytes);
  }

  async readRange(path: string, offset: number, length: number): Promise<Buffer> {
    const cached = await this.cache?.get(path, offset, length);
    if (cached) return cached;
    const data = await this.get(path, { offset, length });
    if (data.length === length) await this.cache?.put(path, offset, data);
    return data;
  }

  async list(dir: string): Promise<string[]> {
    try {
      const { stdout } = await this.rclone.run(['lsjson', '-R', '--files-only', '--no-modtime', '--no-mimetype', this.remotePath(dir)]);
      return (JSON.parse(stdout.toString()) as Array<{ Path: string }>)
        .map((e) => e.Path)
        .filter((p) => !p.split('/').pop()!.startsWith('.tmp-'))
        .sort();
    } catch (err) {
      if (err instanceof SinkiError && /directory not found|not found/i.test(err.message)) return [];
      throw err;
    }
  }

  async size(path: string): Promise<number | null> {
    const slash = path.lastIndexOf('/');
    const dir = slash < 0 ? '' : path.slice(0, slash);
    const name = path.slice(slash + 1);
    try {
      const { stdout } = await this.rclone.run(['lsjson', '--files-only', '--no-modtime', '--no-mimetype', '--include', `/${name}`, this.remotePath(dir)]);
      const hit = (JSON.parse(stdout.toString()) as Array<{ Name: string; Size: number }>).find((e) => e.Name === name);
      return hit ? hit.Size : null;
    } catch (err) {
      if (err instanceof SinkiError && /not found/i.test(err.message)) return null;
      throw err;
    }
  }

  async write(path: string): Promise<void> {
    throw new SinkiError('USAGE', `cannot write ${path}: remote stores are read-only here; change the local store and "sinki push" it`);
  }

  async remove(path: string): Promise<void> {
    throw new SinkiError('USAGE', `cannot remove ${path}: remote stores are read-only here`);
  }

  async freeBytes(): Promise<number | null> {
    return null;
  }

  async close(): Promise<void> {
    await this.server?.then((s) => void s.child.kill()).catch(() => undefined);
  }
}
