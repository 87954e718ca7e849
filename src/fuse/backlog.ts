import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { isObjectId } from '../repo/layout.js';
import { readSmallFile, replaceSmallFile } from '../sys/small-files.js';

/** Ids of 64 hex digits and a newline: room for a million chunks left uncompressed. */
const MAX_BACKLOG_BYTES = 65 * 1_000_000;

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
    return (await readSmallFile(this.path, MAX_BACKLOG_BYTES)).split('\n').filter(isObjectId);
  }

  /** Replaces the list (atomically); an empty list removes the file. */
  async save(ids: Iterable<string>): Promise<void> {
    const list = [...ids];
    if (list.length === 0) {
      await fs.rm(this.path, { force: true });
      return;
    }
    await replaceSmallFile(this.path, `${list.join('\n')}\n`);
  }
}
