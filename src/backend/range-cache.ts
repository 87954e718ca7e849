import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';

/**
 * A local cache of ciphertext byte ranges of a remote store, capped in bytes (oldest evicted).
 * Only sealed bytes ever land here: the store's own encryption protects them.
 */
export class RangeCache {
  private readonly entries = new Map<string, number>();
  private total = 0;
  private ready: Promise<void> | null = null;

  constructor(
    readonly dir: string,
    readonly maxBytes: number,
  ) {}

  private init(): Promise<void> {
    this.ready ??= (async () => {
      await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
      const found: Array<{ name: string; size: number; mtime: number }> = [];
      for (const name of await fs.readdir(this.dir)) {
        if (name.startsWith('.tmp-')) {
          await fs.rm(join(this.dir, name), { force: true });
          continue;
        }
        const st = await fs.stat(join(this.dir, name)).catch(() => null);
        if (st?.isFile()) found.push({ name, size: st.size, mtime: st.mtimeMs });
      }
      for (const f of found.sort((a, b) => a.mtime - b.mtime)) {
        this.entries.set(f.name, f.size);
        this.total += f.size;
      }
      await this.evict();
    })();
    return this.ready;
  }

  private key(path: string, offset: number, length: number): string {
    return createHash('sha256').update(`${path}\0${offset}\0${length}`).digest('hex').slice(0, 40);
  }

  async get(path: string, offset: number, length: number): Promise<Buffer | null> {
    await this.init();
    const key = this.key(path, offset, length);
    if (!this.entries.has(key)) return null;
    const data = await fs.readFile(join(this.dir, key)).catch(() => null);
    if (!data || data.length !== length) {
      this.drop(key);
      await fs.rm(join(this.dir, key), { force: true });
      return null;
    }
    const size = this.entries.get(key)!;
    this.entries.delete(key);
    this.entries.set(key, size);
    return data;
  }

  async put(path: string, offset: number, data: Buffer): Promise<void> {
    if (data.length > this.maxBytes) return;
    await this.init();
    const key = this.key(path, offset, data.length);
    if (this.entries.has(key)) return;
    // Written under a temp name and renamed: another process sharing the cache, or the next run
    // after a crash, never finds a short entry under the real name.
    const temp = join(this.dir, `.tmp-${randomBytes(6).toString('hex')}`);
    try {
      await fs.writeFile(temp, data, { mode: 0o600 });
      await fs.rename(temp, join(this.dir, key));
    } catch {
      await fs.rm(temp, { force: true }).catch(() => undefined);
      return; // a cache that cannot write (disk full) just caches less
    }
    if (this.entries.has(key)) return; // a concurrent put of the same range won
    this.entries.set(key, data.length);
    this.total += data.length;
    await this.evict();
  }

  private drop(key: string): void {
    const size = this.entries.get(key);
    if (size === undefined) return;
    this.entries.delete(key);
    this.total -= size;
  }

  private async evict(): Promise<void> {
    for (const key of this.entries.keys()) {
      if (this.total <= this.maxBytes) break;
      this.drop(key);
      await fs.rm(join(this.dir, key), { force: true });
    }
  }

  get bytes(): number {
    return this.total;
  }
}
