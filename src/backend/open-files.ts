import { promises as fs } from 'node:fs';

interface Entry {
  handle: Promise<fs.FileHandle>;
  users: number;
  evicted: boolean;
}

/**
 * A few read-only file handles kept open (least recently used closed first), so reading many
 * blobs of one pack opens it once. A handle is closed only when no read is using it.
 */
export class OpenFiles {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly max = 32) {}

  async use<T>(path: string, fn: (handle: fs.FileHandle) => Promise<T>): Promise<T> {
    let entry = this.entries.get(path);
    if (entry) this.entries.delete(path);
    entry ??= { handle: fs.open(path, 'r'), users: 0, evicted: false };
    this.entries.set(path, entry);
    this.evict();
    entry.users += 1;
    try {
      return await fn(await entry.handle);
    } catch (err) {
      if (this.entries.get(path) === entry) this.drop(path);
      throw err;
    } finally {
      entry.users -= 1;
      if (entry.evicted && entry.users === 0) void close(entry);
    }
  }

  /** Forget a path (it was removed or replaced). */
  drop(path: string): void {
    const entry = this.entries.get(path);
    if (!entry) return;
    this.entries.delete(path);
    entry.evicted = true;
    if (entry.users === 0) void close(entry);
  }

  /** Closes every handle (those in use once their reads finish). */
  async closeAll(): Promise<void> {
    for (const path of [...this.entries.keys()]) this.drop(path);
  }

  private evict(): void {
    for (const path of this.entries.keys()) {
      if (this.entries.size <= this.max) break;
      this.drop(path);
    }
  }
}

async function close(entry: Entry): Promise<void> {
  await entry.handle.then((h) => h.close()).catch(() => undefined);
}
