import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { KdfParams } from '../../../src/crypto/kdf.js';
import type { KeyFile } from '../../../src/crypto/keyfile.js';
import { FileKeyMemory, KEY_MEMORY_ENTRIES } from '../../../src/repo/key-memory.js';
import { keyFilesToRead, MAX_KEY_FILES_TRIED, unlockOrder } from '../../../src/repo/key-ring.js';
import { removeTempDirs, tempDir } from '../../helpers/temp.js';

type KdfCost = Omit<Extract<KdfParams, { name: 'pbkdf2' }>, 'salt'> | Omit<Extract<KdfParams, { name: 'scrypt' }>, 'salt'>;
const key = (id: string, kdf: KdfCost): { id: string; file: KeyFile } => ({
  id,
  file: { version: 1, id, created: '', host: '', kdf: { ...kdf, salt: '' } as KdfParams, sealed: '', checksum: '' },
});

describe('which key files are read', () => {
  const ids = Array.from({ length: 30 }, (_, i) => `k${String(i).padStart(2, '0')}`);

  it(`at most ${MAX_KEY_FILES_TRIED}, in name order, and says how many were left out`, () => {
    const { read, leftOut } = keyFilesToRead(ids, undefined);
    expect(MAX_KEY_FILES_TRIED).toBe(20);
    expect(read).toEqual(ids.slice(0, 20));
    expect(leftOut).toBe(10);
  });

  it('the key used last comes first, even when it sorts last', () => {
    const { read, leftOut } = keyFilesToRead(ids, 'k29');
    expect(read).toEqual(['k29', ...ids.slice(0, 19)]);
    expect(leftOut).toBe(10);
  });

  it('a remembered key that is gone changes nothing', () => {
    expect(keyFilesToRead(['a', 'b'], 'gone')).toEqual({ read: ['a', 'b'], leftOut: 0 });
  });
});

describe('the order key files are tried in', () => {
  const real = key('ffff', { name: 'scrypt', N: 2 ** 17, r: 8, p: 1 });
  const plantedAtCap = key('0000', { name: 'pbkdf2', hash: 'sha256', iterations: 10_000_000 });
  const plantedCheap = key('0001', { name: 'pbkdf2', hash: 'sha256', iterations: 1000 });

  it('the key used last first, then the cheapest KDF, then by id', () => {
    expect(unlockOrder([plantedAtCap, plantedCheap, real], 'ffff').map((k) => k.id)).toEqual(['ffff', '0001', '0000']);
    expect(unlockOrder([plantedAtCap, plantedCheap, real], undefined).map((k) => k.id)).toEqual(['0001', 'ffff', '0000']);
    const twin = key('0002', { name: 'pbkdf2', hash: 'sha256', iterations: 1000 });
    expect(unlockOrder([twin, plantedCheap], undefined).map((k) => k.id)).toEqual(['0001', '0002']);
  });
});

describe('the key memory (~/.cache/sinki/keys-used)', () => {
  afterAll(removeTempDirs);
  const store = (i: number): string => i.toString(16).padStart(32, '0');

  it('recalls the key last remembered per store, and nothing for an unknown store', async () => {
    const memory = new FileKeyMemory(join(await tempDir('key-memory'), 'sinki', 'keys-used'));
    expect(await memory.recall(store(1))).toBeUndefined();
    await memory.remember(store(1), 'aaaa');
    await memory.remember(store(2), 'bbbb');
    await memory.remember(store(1), 'cccc');
    expect(await memory.recall(store(1))).toBe('cccc');
    expect(await memory.recall(store(2))).toBe('bbbb');
    expect(await memory.recall(store(3))).toBeUndefined();
    const text = await fs.readFile(memory.file, 'utf8');
    expect(text).toBe(`${store(1)} cccc\n${store(2)} bbbb\n`);
    expect((await fs.stat(memory.file)).mode & 0o777).toBe(0o600);
  });

  it(`stays small: the ${KEY_MEMORY_ENTRIES} stores used last`, async () => {
    const memory = new FileKeyMemory(join(await tempDir('key-memory'), 'keys-used'));
    for (let i = 0; i < KEY_MEMORY_ENTRIES + 5; i++) await memory.remember(store(i), 'k');
    expect((await fs.readFile(memory.file, 'utf8')).split('\n').filter(Boolean)).toHaveLength(KEY_MEMORY_ENTRIES);
    expect(await memory.recall(store(KEY_MEMORY_ENTRIES + 4))).toBe('k');
    expect(await memory.recall(store(0))).toBeUndefined();
  });

  it('ignores lines it did not write and ids it would not write; an unwritable place is no error', async () => {
    const dir = await tempDir('key-memory');
    const memory = new FileKeyMemory(join(dir, 'keys-used'));
    await fs.writeFile(memory.file, `garbage\n${store(1)} ../../etc\n${store(2)} good extra\n${store(3)} fine\n`);
    expect(await memory.recall(store(1))).toBeUndefined();
    expect(await memory.recall(store(2))).toBeUndefined();
    expect(await memory.recall(store(3))).toBe('fine');
    await memory.remember('not-a-store-id', 'k');
    await memory.remember(store(4), 'a/b');
    expect(await memory.recall(store(4))).toBeUndefined();
    const blocked = new FileKeyMemory(join(dir, 'keys-used', 'below-a-file'));
    await expect(blocked.remember(store(5), 'k')).resolves.toBeUndefined();
    expect(await blocked.recall(store(5))).toBeUndefined();
  });
});
