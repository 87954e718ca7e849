import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SinkiError, isSinkiError } from '../../src/errors.js';
import { decodeSnapshot } from '../../src/repo/snapshot.js';
import { parseStoreConfig } from '../../src/repo/store-config.js';
import { decodeTree } from '../../src/repo/tree.js';
import { parseKeyFile, unlockKeyFile } from '../../src/crypto/keyfile.js';
import { withChecksum } from '../../src/crypto/canonical.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';
import { buildCorpus, fuzz } from '../../scripts/lib/fuzz-formats.mjs';

/** Mutations per target here; scripts/fuzz-formats --iterations runs the same loop for as long as wanted. */
const PER_TARGET = Number(process.env.SINKI_FUZZ_PER_TARGET ?? 120);
const SEED = process.env.SINKI_FUZZ_SEED ?? 'lifecycle';

/** Failures the fuzzer once found and that are fixed stay as reproductions below; nothing is tolerated here. */
const KNOWN: Array<{ target: RegExp; outcome: RegExp }> = [];

type Corpus = Awaited<ReturnType<typeof buildCorpus>>;

describe('parser fuzz: mutated store files decode to the original value or a SinkiError', () => {
  let corpus: Corpus;

  beforeAll(async () => {
    corpus = await buildCorpus(await tempDir('fuzz'));
  });
  afterAll(removeTempDirs);

  it('has every kind of file and payload to mutate', () => {
    expect(corpus.targets.map((t: { name: string }) => t.name.replace(/ \(\w{8}, (data|trees)\)/, ' ($1)'))).toEqual([
      'pack (data)',
      'pack (trees)',
      'index segment',
      'snapshot',
      'refs/head',
      'key file',
      'key file (JSON values, checksum recomputed)',
      'sinki.json',
      'sinki.json (JSON values, checksum recomputed)',
      'tree blob',
      'tree blob (binary, root)',
      'tree blob (format 1 JSON values)',
      'index segment payload',
      'index segment payload (format 1)',
      'pack header entry list',
      'snapshot payload (JSON values)',
      'refs/head payload (JSON values)',
      'blob payload (compact xz)',
      'blob payload (xz stream, format 1)',
      'sinki.json (parseStoreConfig, checksum recomputed)',
    ]);
  });

  it(`${PER_TARGET} seeded mutations per target: never another exception, a wrong value or a hang`, async () => {
    const { stats, failures } = await fuzz({ corpus, iterations: PER_TARGET * corpus.targets.length, seed: SEED });
    const unexpected = failures.filter((f: { target: string; outcome: string }) => !KNOWN.some((k) => k.target.test(f.target) && k.outcome.test(f.outcome)));
    expect(unexpected).toEqual([]);
    for (const s of stats) {
      expect(s.tried).toBe(PER_TARGET);
      // A sealed file never decodes to anything but itself.
      if (s.contract === 'sealed') expect(s.other).toBe(0);
    }
    // The mutations do reach the decoders: most of them are rejected as damage.
    const errors = stats.reduce((a: number, s: { errors: Record<string, number> }) => a + Object.values(s.errors).reduce((x, y) => x + y, 0), 0);
    expect(errors).toBeGreaterThan(PER_TARGET * corpus.targets.length * 0.5);
  });

  // ---- reproductions of the known failures above (decoders outside src/repo/{check,refs,...}) ----

  const expectCorrupt = (fn: () => unknown): void => {
    let thrown: unknown = null;
    try {
      fn();
    } catch (err) {
      thrown = err;
    }
    expect(isSinkiError(thrown, 'CORRUPT') ? 'CORRUPT' : String(thrown)).toBe('CORRUPT');
  };

  it('decodeSnapshot: a payload of JSON null is CORRUPT (src/repo/snapshot.ts reads .time of null)', () => {
    expectCorrupt(() => decodeSnapshot(Buffer.from('null'), 'snapshot x'));
  });

  it('decodeTree: a payload of JSON null is CORRUPT (src/repo/tree.ts reads .nodes of null)', () => {
    expectCorrupt(() => decodeTree(Buffer.from('null'), 'tree x'));
  });

  it('decodeTree: a file entry whose chunk list holds null is CORRUPT (check, prune and restore would throw TypeError on it)', () => {
    expectCorrupt(() =>
      decodeTree(Buffer.from('{"nodes":[{"name":"a","type":"file","mode":420,"uid":0,"gid":0,"mtimeNs":"0","size":1,"chunks":[null]}]}'), 'tree x'),
    );
  });

  it('parseStoreConfig: "compression": null with a recomputed checksum is CORRUPT (the CLI says "unexpected error")', () => {
    const text = JSON.stringify(
      withChecksum({
        format: 1,
        id: 'ab'.repeat(16),
        created: '',
        cipher: 'aes-128-gcm',
        chunkSize: 65536,
        packSize: 1 << 20,
        cdc: {},
        compression: null,
        mac: '',
      }),
    );
    expectCorrupt(() => parseStoreConfig(text));
  });

  it('a key file with 1e300 PBKDF2 iterations (checksum recomputed) is CORRUPT, not a RangeError at unlock ("unexpected error" in the CLI)', async () => {
    const file = withChecksum({
      version: 1,
      id: 'k',
      created: '',
      host: 'h',
      kdf: { name: 'pbkdf2', hash: 'sha256', iterations: 1e300, salt: 'AAAA' },
      sealed: 'AAAA',
    });
    let thrown: unknown = null;
    try {
      await unlockKeyFile(parseKeyFile(JSON.stringify(file), 'keys/k.json'), Buffer.from('pw'), 'ab'.repeat(16));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(SinkiError);
  });
});
