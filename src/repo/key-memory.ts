import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { dirname } from 'node:path';

/** Which key opened a store last time on this machine (ids only: nothing secret). */
export interface KeyMemory {
  recall(storeId: string): Promise<string | undefined>;
  remember(storeId: string, keyId: string): Promise<void>;
}

/** Stores remembered at most; the oldest are forgotten first. */
export const KEY_MEMORY_ENTRIES = 256;

const STORE_ID = /^[0-9a-f]{32}$/;
const KEY_ID = /^[0-9A-Za-z._-]{1,64}$/;

/**
 * One small text file of "store-id key-id" lines, most recent first (under ~/.cache/sinki). It is a
 * hint: a missing, unreadable or unwritable file only means the usual order; two processes writing
 * at once may lose one line.
 */
export class FileKeyMemory implements KeyMemory {
  constructor(readonly file: string) {}

  async recall(storeId: string): Promise<string | undefined> {
    return (await this.entries()).find(([s]) => s === storeId)?.[1];
  }

  async remember(storeId: string, keyId: string): Promise<void> {
    if (!STORE_ID.test(storeId) || !KEY_ID.test(keyId)) return;
    const entries = await this.entries();
    if (entries[0]?.[0] === storeId && entries[0][1] === keyId) return;
    const kept = [[storeId, keyId], ...entries.filter(([s]) => s !== storeId)].slice(0, KEY_MEMORY_ENTRIES);
    const tmp = `${this.file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      await fs.mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
      await fs.writeFile(tmp, kept.map(([s, k]) => `${s} ${k}\n`).join(''), { mode: 0o600 });
      await fs.rename(tmp, this.file);
    } catch {
      await fs.rm(tmp, { force: true }).catch(() => undefined);
    }
  }

  private async entries(): Promise<Array<[string, string]>> {
    let text: string;
    try {
      const handle = await fs.open(this.file, 'r');
      try {
        const buf = Buffer.alloc(KEY_MEMORY_ENTRIES * 120);
        const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
        text = buf.subarray(0, bytesRead).toString();
      } finally {
        await handle.close();
      }
    } catch {
      return [];
    }
    const out: Array<[string, string]> = [];
    for (const line of text.split('\n')) {
      const [s, k, ...rest] = line.split(' ');
      if (rest.length === 0 && s && k && STORE_ID.test(s) && KEY_ID.test(k)) out.push([s, k]);
    }
    return out;
  }
}
