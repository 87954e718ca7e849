import { request } from 'node:http';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { SinkiError } from '../errors.js';
import { rcloneErrorMessage, type Rclone } from '../rclone/rclone.js';
import type { Backend } from './backend.js';
import type { RangeCache } from './range-cache.js';

/** Remote stores are named `rclone:REMOTE:PATH` on the command line. */
export const RCLONE_PREFIX = 'rclone:';

export function isRcloneLocation(location: string): boolean {
  return location.startsWith(RCLONE_PREFIX);
}

export interface FetchCounter {
  requests: number;
  bytes: number;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
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
      const port = await freePort();
      const user = 'sinki';
      const pass = randomBytes(16).toString('hex');
      // The credentials go through the environment: a command line is readable by every local user.
      // serve restic has no read-only mode; --append-only refuses deletes and overwrites, and nobody else can log in.
      const child = this.rclone.spawn(['serve', 'restic', this.remote, '--addr', `127.0.0.1:${port}`, '--append-only'], { RCLONE_USER: user, RCLONE_PASS: pass });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
      child.stdout!.resume();
      child.unref();
      (child.stdout as unknown as { unref?: () => void }).unref?.();
      (child.stderr as unknown as { unref?: () => void }).unref?.();
      process.once('exit', () => child.kill());
      const auth = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
      const deadline = Date.now() + 15_000;
      for (;;) {
        if (child.exitCode !== null) throw new SinkiError('RCLONE', `rclone serve ${this.remote}: ${rcloneErrorMessage(stderr)}`);
        if (await this.answers(port)) break;
        if (Date.now() > deadline) throw new SinkiError('RCLONE', `rclone serve ${this.remote} did not come up: ${rcloneErrorMessage(stderr)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return { port, auth, child };
    })();
    return this.server;
  }

  /** Whether the server listens: any HTTP answer will do. */
  private answers(port: number): Promise<boolean> {
    return new Promise((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/', method: 'HEAD' }, (res) => {
        res.resume();
        resolve(true);
      });
      req.on('error', () => resolve(false));
      req.end();
    });
  }

  private async get(path: string, range?: { offset: number; length: number }): Promise<Buffer> {
    const { port, auth } = await this.startServer();
    const headers: Record<string, string> = { authorization: auth };
    if (range) headers.range = `bytes=${range.offset}-${range.offset + range.length - 1}`;
    const urlPath = `/${path.split('/').map(encodeURIComponent).join('/')}`;
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: urlPath, headers }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => {
          const body = Buffer.concat(parts);
          this.fetched.requests += 1;
          this.fetched.bytes += body.length;
          if (res.statusCode === 404) reject(new SinkiError('NOT_FOUND', `${path}: not found on ${this.remote}`));
          else if ((res.statusCode ?? 500) >= 300) reject(new SinkiError('RCLONE', `reading ${path} from ${this.remote}: HTTP ${res.statusCode} ${body.toString().slice(0, 200).trim()}`));
          else if (range && res.statusCode !== 206) resolve(body.subarray(range.offset, range.offset + range.length));
          else resolve(body);
        });
        res.on('error', (e) => reject(new SinkiError('RCLONE', `reading ${path} from ${this.remote}: ${e.message}`)));
      });
      req.on('error', (e) => reject(new SinkiError('RCLONE', `reading ${path} from ${this.remote}: ${e.message}`)));
      req.end();
    });
  }

  async read(path: string): Promise<Buffer> {
    return this.get(path);
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
      return (JSON.parse(stdout.toString()) as Array<{ Path: string }>).map((e) => e.Path).filter((p) => !p.split('/').pop()!.startsWith('.tmp-')).sort();
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
