import { readSmallFile, replaceSmallFile } from '../sys/small-files.js';

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
    // Only a hint: failing to remember costs a slower open next time, nothing else.
    await replaceSmallFile(this.file, kept.map(([s, k]) => `${s} ${k}\n`).join('')).catch(() => undefined);
  }

  private async entries(): Promise<Array<[string, string]>> {
    const text = await readSmallFile(this.file, KEY_MEMORY_ENTRIES * 120);
    const out: Array<[string, string]> = [];
    for (const line of text.split('\n')) {
      const [s, k, ...rest] = line.split(' ');
      if (rest.length === 0 && s && k && STORE_ID.test(s) && KEY_ID.test(k)) out.push([s, k]);
    }
    return out;
  }
}
