import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { isObjectId } from '../repo/layout.js';

/**
 * Chunks a mount stored uncompressed and had not compressed yet when it was unmounted: unmount does
 * not wait for them. The list is kept on this machine (the next mount compresses them when idle,
 * `sinki compact` at once). It is only a hint: lost or stale, it costs space, never data.
 */
export class CompressionBacklog {
  constructor(readonly path: string) {}

  static forStore(cacheRoot: string, storeId: string): CompressionBacklog {
    return new CompressionBacklog(join(cacheRoot, 'backlog', `${storeId}.ids`));
  }

  async load(): Promise<string[]> {
    const text = await fs.readFile(this.path, 'utf8').catch(() => '');
    return text.split('\n').filter(isObjectId);
  }

  /** Replaces the list (atomically); an empty list removes the file. */
  async save(ids: Iterable<string>): Promise<void> {
    const list = [...ids];
    if (list.length === 0) {
      await fs.rm(this.path, { force: true });
      return;
    }
    await fs.mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.${randomBytes(4).toString('hex')}.tmp`;
    await fs.writeFile(tmp, `${list.join('\n')}\n`, { mode: 0o600 });
    await fs.rename(tmp, this.path);
  }
}
