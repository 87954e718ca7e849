import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isSinkiError } from '../../../src/errors.js';
import { counterOfName, generationName, openGeneration, sealGeneration, type Generation } from '../../../src/repo/generation.js';
import { FileGenerationMemory } from '../../../src/repo/generation-memory.js';
import { Subkeys } from '../../../src/repo/subkeys.js';
import { removeTempDirs, tempDir } from '../../helpers/temp.js';

const keys = (): Subkeys => new Subkeys({ encKey: randomBytes(32), idKey: randomBytes(32) }, 'aes-128-gcm', randomBytes(16).toString('hex'), true, true);
const hex = (c: string): string => c.repeat(64);

const sample = (counter: number): Generation => ({
  counter,
  epoch: 3,
  index: [hex('a')],
  snapshots: [hex('b'), hex('c')],
  head: hex('d'),
  headSeq: 7,
  removing: [],
});

function corrupt(fn: () => unknown): boolean {
  try {
    fn();
    return false;
  } catch (err) {
    return isSinkiError(err, 'CORRUPT');
  }
}

afterAll(removeTempDirs);

describe('generation files', () => {
  it('round-trip under their name; the counter sorts as a number', () => {
    const k = keys();
    const name = generationName(42);
    expect(name).toMatch(/^000000000042-[0-9a-f]{16}$/);
    expect(counterOfName(name)).toBe(42);
    expect(counterOfName('42-abc')).toBeNull();
    expect(openGeneration(k, name, sealGeneration(k, name, sample(42)))).toEqual(sample(42));
  });

  it('renamed to a higher counter, sealed by another store, or with a counter unlike its name: CORRUPT', () => {
    const k = keys();
    const name = generationName(5);
    const file = sealGeneration(k, name, sample(5));
    expect(corrupt(() => openGeneration(k, generationName(6), file))).toBe(true);
    expect(corrupt(() => openGeneration(keys(), name, file))).toBe(true);
    expect(corrupt(() => openGeneration(k, name, sealGeneration(k, name, sample(9))))).toBe(true);
  });
});

describe('the memory of generations seen', () => {
  it('keeps the highest counter per store and location; exact sets it lower after an accepted rollback', async () => {
    const memory = new FileGenerationMemory(join(await tempDir('gen-memory'), 'generations'));
    const store = randomBytes(16).toString('hex');
    expect(await memory.recall(store, '/a')).toBeUndefined();
    await memory.remember(store, '/a', 5);
    await memory.remember(store, '/a', 3);
    await memory.remember(store, 'rclone:remote:a', 2);
    expect(await memory.recall(store, '/a')).toBe(5);
    expect(await memory.recall(store, 'rclone:remote:a')).toBe(2);
    await memory.remember(store, '/a', 3, true);
    expect(await memory.recall(store, '/a')).toBe(3);
    expect(await memory.recall(randomBytes(16).toString('hex'), '/a')).toBeUndefined();
  });
});
