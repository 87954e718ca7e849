/* The local ciphertext cache of a remote store: capped, and never stuck with a short entry. */
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RangeCache } from '../../src/backend/range-cache.js';
import { bytesBelow, filesBelow, randomData } from './harness.js';

const dirs: string[] = [];
const cacheDir = async (): Promise<string> => {
  const d = await fs.mkdtemp(join(tmpdir(), 'sinki-range-cache-'));
  dirs.push(d);
  return join(d, 'cache');
};

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => fs.rm(d, { recursive: true, force: true })));
});

describe('RangeCache', () => {
  it('returns what was put, by path, offset and length', async () => {
    const cache = new RangeCache(await cacheDir(), 1 << 20);
    await cache.put('packs/ab/abc', 100, randomData('r1', 1000));
    expect(await cache.get('packs/ab/abc', 100, 1000)).toEqual(randomData('r1', 1000));
    expect(await cache.get('packs/ab/abc', 101, 1000)).toBeNull();
    expect(await cache.get('packs/ab/abd', 100, 1000)).toBeNull();
  });

  it('stays under its cap, dropping the least recently used ranges first', async () => {
    const dir = await cacheDir();
    const cache = new RangeCache(dir, 2500);
    await cache.put('p', 0, randomData('a', 1000));
    await cache.put('p', 1000, randomData('b', 1000));
    expect(await cache.get('p', 0, 1000)).not.toBeNull(); // "a" is now the most recent
    await cache.put('p', 2000, randomData('c', 1000));
    expect(await cache.get('p', 1000, 1000)).toBeNull();
    expect(await cache.get('p', 0, 1000)).toEqual(randomData('a', 1000));
    expect(cache.bytes).toBe(2000);
    expect(await bytesBelow(dir)).toBe(2000);
  });

  it('drops an entry cut short (a crash while writing it) and stores it again', async () => {
    const dir = await cacheDir();
    await new RangeCache(dir, 1 << 20).put('p', 0, randomData('x', 4096));
    const [entry] = await filesBelow(dir);
    await fs.truncate(join(dir, entry!), 100);
    await fs.writeFile(join(dir, '.tmp-abandoned'), 'half');

    const cache = new RangeCache(dir, 1 << 20);
    expect(await cache.get('p', 0, 4096)).toBeNull();
    await cache.put('p', 0, randomData('x', 4096));
    expect(await cache.get('p', 0, 4096)).toEqual(randomData('x', 4096));
    expect(await filesBelow(dir)).toEqual([entry]);
    expect(cache.bytes).toBe(4096);
  });
});
