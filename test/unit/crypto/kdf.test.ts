import { describe, expect, it } from 'vitest';
import { isSinkiError } from '../../../src/errors.js';
import { withChecksum } from '../../../src/crypto/canonical.js';
import {
  checkKdfChoice,
  chooseKdfParams,
  DEFAULT_KDF,
  deriveFromPassword,
  kdfBeyondLimits,
  PBKDF2_MAX_ITERATIONS,
  PBKDF2_MIN_ITERATIONS,
  SCRYPT_MAX_N_NEW,
  SCRYPT_MIN_N,
  type KdfChoice,
  type KdfParams,
} from '../../../src/crypto/kdf.js';
import { MAX_KEY_FILE_BYTES, parseKeyFile } from '../../../src/crypto/keyfile.js';

const pbkdf2 = (iterations: number): KdfParams => ({ name: 'pbkdf2', hash: 'sha256', iterations, salt: 'AAAA' });
const scrypt = (N: number, r = 8, p = 1): KdfParams => ({ name: 'scrypt', N, r, p, salt: 'AAAA' });

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return null;
}

async function rejected(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  return null;
}

/** A key file as anyone with write access to a store can make one: any KDF parameters, a valid checksum. */
const forgedKeyFile = (kdf: unknown): string => JSON.stringify(withChecksum({ version: 1, id: 'k', created: '', host: 'h', kdf, sealed: 'AAAA' }));

describe('caps on opening a key file (what a planted key file may cost)', () => {
  it.each([
    ['PBKDF2 at the cap', pbkdf2(PBKDF2_MAX_ITERATIONS)],
    ['scrypt N=2^19 r=8 p=1 (512 MiB)', scrypt(2 ** 19)],
    ['scrypt N=2^18 r=8 p=2 (same work)', scrypt(2 ** 18, 8, 2)],
    ['an old test key (PBKDF2 1000)', pbkdf2(1000)],
    ['an old test key (scrypt N=1024)', scrypt(1024)],
  ])('%s opens', (_name, params) => {
    expect(kdfBeyondLimits(params)).toBeNull();
  });

  it.each([
    ['PBKDF2 one above the cap', pbkdf2(PBKDF2_MAX_ITERATIONS + 1), /10000001 PBKDF2 iterations, above the limit of 10000000/],
    ['PBKDF2 2^31-1', pbkdf2(2 ** 31 - 1), /2147483647 PBKDF2 iterations/],
    ['scrypt N=2^20 r=8 (1 GiB)', scrypt(2 ** 20), /1024 MiB of memory, above the limit of 512 MiB/],
    ['scrypt N=2^24 r=64 p=64', scrypt(2 ** 24, 64, 64), /131072 MiB of memory/],
    ['scrypt N=2^18 r=8 p=3 (work)', scrypt(2 ** 18, 8, 3), /N·r·p above the limit/],
    ['scrypt N=2^14 r=8 p=64 (work)', scrypt(2 ** 14, 8, 64), /N·r·p above the limit/],
  ])('%s is refused', (_name, params, message) => {
    expect(kdfBeyondLimits(params)).toMatch(message);
  });

  it('a key file asking for more than the caps, checksum forged, is CORRUPT naming the file and the limit', () => {
    for (const kdf of [pbkdf2(2 ** 31 - 1), scrypt(2 ** 24, 64, 64)]) {
      const err = thrown(() => parseKeyFile(forgedKeyFile(kdf), 'keys/planted.json'));
      expect(isSinkiError(err, 'CORRUPT')).toBe(true);
      expect((err as Error).message).toMatch(/^key file keys\/planted\.json refused: it asks for .*above the limit/);
    }
  });

  it('a key file larger than a key file can be is CORRUPT before it is parsed', () => {
    const err = thrown(() => parseKeyFile(forgedKeyFile(pbkdf2(1000)).padEnd(MAX_KEY_FILE_BYTES + 1, ' '), 'keys/big.json'));
    expect(isSinkiError(err, 'CORRUPT')).toBe(true);
    expect((err as Error).message).toMatch(/keys\/big\.json refused: 65537 bytes/);
  });

  it('scrypt N that is not a power of two is damaged, not an error of node:crypto', () => {
    expect(
      isSinkiError(
        thrown(() => parseKeyFile(forgedKeyFile(scrypt(3 * 2 ** 14)), 'keys/k.json')),
        'CORRUPT',
      ),
    ).toBe(true);
  });

  it('deriveFromPassword itself refuses parameters beyond the caps (CORRUPT, nothing derived)', async () => {
    expect(isSinkiError(await rejected(deriveFromPassword(Buffer.from('pw'), pbkdf2(2 ** 31 - 1))), 'CORRUPT')).toBe(true);
    expect(isSinkiError(await rejected(deriveFromPassword(Buffer.from('pw'), scrypt(2 ** 24, 64, 64))), 'CORRUPT')).toBe(true);
  });
});

describe('floors for new keys', () => {
  const usage = (choice: KdfChoice): boolean =>
    isSinkiError(
      thrown(() => checkKdfChoice(choice)),
      'USAGE',
    );

  it('the default KDF is scrypt', () => {
    expect(DEFAULT_KDF).toBe('scrypt');
  });

  it('PBKDF2: 600 000 iterations at least, 10 M at most; below only with the override, never below 1000', () => {
    expect(PBKDF2_MIN_ITERATIONS).toBeGreaterThanOrEqual(600_000);
    expect(usage({ name: 'pbkdf2', cost: { iterations: 1000 } })).toBe(true);
    expect(usage({ name: 'pbkdf2', cost: { iterations: 599_999 } })).toBe(true);
    expect(usage({ name: 'pbkdf2', cost: { iterations: 600_000 } })).toBe(false);
    expect(usage({ name: 'pbkdf2', cost: { iterations: PBKDF2_MAX_ITERATIONS + 1 } })).toBe(true);
    expect(usage({ name: 'pbkdf2', cost: { iterations: 1000 }, insecure: true })).toBe(false);
    expect(usage({ name: 'pbkdf2', cost: { iterations: 999 }, insecure: true })).toBe(true);
    expect((thrown(() => checkKdfChoice({ name: 'pbkdf2', cost: { iterations: 1000 } })) as Error).message).toMatch(/lower only with --insecure-kdf/);
  });

  it('scrypt: N from 2^15 to 2^18 (256 MiB at r=8); below only with the override, never below 1024', () => {
    expect(SCRYPT_MIN_N).toBeGreaterThanOrEqual(2 ** 15);
    expect(usage({ name: 'scrypt', cost: { iterations: 2 ** 14 } })).toBe(true);
    expect(usage({ name: 'scrypt', cost: { iterations: 2 ** 15 } })).toBe(false);
    expect(usage({ name: 'scrypt', cost: { iterations: SCRYPT_MAX_N_NEW * 2 } })).toBe(true);
    expect(usage({ name: 'scrypt', cost: { iterations: 3 * 2 ** 14 } })).toBe(true);
    expect(usage({ name: 'scrypt', cost: { iterations: 1024 }, insecure: true })).toBe(false);
    expect(usage({ name: 'scrypt', cost: { iterations: 512 }, insecure: true })).toBe(true);
  });

  it('calibration never goes below the floors however short the target', async () => {
    expect(await chooseKdfParams({ name: 'pbkdf2', cost: { targetMs: 1 } })).toMatchObject({ iterations: PBKDF2_MIN_ITERATIONS });
    expect(await chooseKdfParams({ name: 'scrypt', cost: { targetMs: 1 } })).toMatchObject({ N: SCRYPT_MIN_N, r: 8, p: 1 });
  });

  it('calibration never goes above what sinki makes (scrypt 256 MiB) nor what it opens (PBKDF2), however long the target', async () => {
    const s = await chooseKdfParams({ name: 'scrypt', cost: { targetMs: 1e9 } });
    expect(s).toMatchObject({ N: SCRYPT_MAX_N_NEW, r: 8, p: 1 });
    expect(kdfBeyondLimits(s)).toBeNull();
    const p = await chooseKdfParams({ name: 'pbkdf2', cost: { targetMs: 1e9 } });
    expect(p).toMatchObject({ iterations: PBKDF2_MAX_ITERATIONS });
  });

  it('a scrypt key at the floor derives (node:crypto needs maxmem raised past its 32 MiB default for it)', async () => {
    const params = await chooseKdfParams({ name: 'scrypt', cost: { iterations: SCRYPT_MIN_N } });
    expect(await deriveFromPassword(Buffer.from('pw'), params)).toHaveLength(32);
  });
});
