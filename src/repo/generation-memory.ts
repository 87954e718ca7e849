import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { readSmallFile, replaceSmallFile } from '../sys/small-files.js';

/**
 * The newest generation this machine has seen of a store at one location (docs/STORE-FORMAT.md,
 * "Generations"). A copy of the store elsewhere (a pushed remote) lags behind on its own, so each
 * location is remembered apart.
 */
export interface GenerationMemory {
  recall(storeId: string, location: string): Promise<number | undefined>;
  /** Raises the remembered counter to `counter`; with `exact`, sets it (after an accepted rollback). */
  remember(storeId: string, location: string, counter: number, exact?: boolean): Promise<void>;
}

/** Locations remembered per store at most; the oldest are forgotten first. */
const LOCATIONS_PER_STORE = 64;
const STORE_ID = /^[0-9a-f]{32}$/;

/**
 * One small file per store id under the cache folder (beside keys-used): lines of
 * "counter location-hash". Unlike a cache, losing it loses protection: a store rolled back
 * before the next command here is then taken as it is.
 */
export class FileGenerationMemory implements GenerationMemory {
  constructor(readonly dir: string) {}

  async recall(storeId: string, location: string): Promise<number | undefined> {
    if (!STORE_ID.test(storeId)) return undefined;
    return (await this.entries(storeId)).get(locationKey(location));
  }

  async remember(storeId: string, location: string, counter: number, exact = false): Promise<void> {
    if (!STORE_ID.test(storeId) || !Number.isSafeInteger(counter) || counter < 0) return;
    const entries = await this.entries(storeId);
    const key = locationKey(location);
    const old = entries.get(key);
    if (old === counter || (!exact && old !== undefined && old > counter)) return;
    entries.delete(key);
    const kept = [[key, counter] as const, ...entries].slice(0, LOCATIONS_PER_STORE);
    await replaceSmallFile(join(this.dir, storeId), kept.map(([k, c]) => `${c} ${k}\n`).join('')).catch(() => undefined);
  }

  private async entries(storeId: string): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const text = await readSmallFile(join(this.dir, storeId), LOCATIONS_PER_STORE * 100);
    for (const line of text.split('\n')) {
      const m = /^(\d{1,15}) ([0-9a-f]{32})$/.exec(line);
      if (m && !out.has(m[2]!)) out.set(m[2]!, Number(m[1]));
    }
    return out;
  }
}

/** Locations are not kept in the clear: the file says which stores were used, not where they are. */
function locationKey(location: string): string {
  return createHash('sha256').update(location).digest('hex').slice(0, 32);
}
