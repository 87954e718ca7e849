/*
 * Chunk sizes must not fingerprint known files: a format 3 store cuts with a gear table derived
 * from its keys, so two stores cut one file at different places and neither at the public table's;
 * format 1 and 2 stores keep the public table (their dedup depends on it). Format 3 pack headers
 * are bound to the pack's magic, version and salt.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBackend } from '../../src/backend/local.js';
import { open } from '../../src/crypto/aead.js';
import { isSinkiError } from '../../src/errors.js';
import { chunkWhole, DEFAULT_CDC, gearFromBytes } from '../../src/backup/fastcdc.js';
import { PACK_PREFIX_LENGTH, parsePackFooter, PACK_FOOTER_LENGTH } from '../../src/repo/pack-format.js';
import { readPackHeader } from '../../src/repo/pack-reader.js';
import { Repository } from '../../src/repo/repository.js';
import { initStore, PASSWORD, sinkiOk } from '../helpers/cli.js';
import { initRepo } from '../helpers/store.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';

/** The chunk lengths the store's latest snapshot recorded for `name` (a file at the top of the source). */
async function chunkLengths(store: string, name: string): Promise<number[]> {
  const repo = await Repository.open(new LocalBackend(store), Buffer.from(PASSWORD));
  try {
    const snap = (await repo.listSnapshots()).at(-1)!;
    const root = await repo.loadTree(snap.tree);
    const src = await repo.loadTree(root.nodes[0]!.subtree!);
    return src.nodes.find((n) => n.name === name)!.chunks!.map(([, length]) => length);
  } finally {
    await repo.backend.close();
  }
}

async function storeKeys(store: string): Promise<Repository> {
  return Repository.open(new LocalBackend(store), Buffer.from(PASSWORD));
}

describe('chunk boundaries and pack headers of new stores depend on their keys', () => {
  let work: string;
  let src: string;
  let data: Buffer;

  beforeAll(async () => {
    work = await tempDir('sec-fingerprint');
    src = join(work, 'src');
    await fs.mkdir(src);
    data = randomBytes(12 * 1024 * 1024);
    await fs.writeFile(join(src, 'known.bin'), data);
  });

  afterAll(removeTempDirs);

  it("two new stores cut the same file at different places, neither at the public table's; each at its own keyed table's", async () => {
    const publicCuts = chunkWhole(data, DEFAULT_CDC).map((c) => c.length);
    expect(publicCuts.length).toBeGreaterThan(3);
    const cuts: number[][] = [];
    for (const label of ['a', 'b']) {
      const store = join(work, `new-${label}`);
      await initStore(store);
      await sinkiOk(['backup', src], { store });
      const lengths = await chunkLengths(store, 'known.bin');
      expect(lengths.reduce((a, b) => a + b, 0)).toBe(data.length);
      const repo = await storeKeys(store);
      expect(repo.config.format).toBe(3);
      expect(lengths).toEqual(chunkWhole(data, repo.config.cdc, gearFromBytes(repo.keys.gearBytes()!)).map((c) => c.length));
      await repo.backend.close();
      expect(lengths).not.toEqual(publicCuts);
      cuts.push(lengths);
    }
    expect(cuts[0]).not.toEqual(cuts[1]);
  });

  it.each([1, 2])('a format %i store keeps the public table: its cuts are the ones anyone can compute', async (format) => {
    const store = join(work, `old-${format}`);
    await (await initRepo(store, PASSWORD, format)).backend.close();
    await sinkiOk(['backup', src], { store });
    expect(await chunkLengths(store, 'known.bin')).toEqual(chunkWhole(data, DEFAULT_CDC).map((c) => c.length));
    const repo = await storeKeys(store);
    expect(repo.keys.gearBytes()).toBeUndefined();
    await repo.backend.close();
  });

  it('a format 3 pack header opens only with its magic, version and salt bound; a format 2 header is bound to the store alone', async () => {
    for (const [store, bound] of [
      [join(work, 'new-a'), true],
      [join(work, 'old-2'), false],
    ] as const) {
      const repo = await storeKeys(store);
      try {
        const packId = repo.index.packIds()[0]!;
        const bytes = await fs.readFile(join(store, 'packs', packId.slice(0, 2), packId));
        expect(readPackHeader(repo.keys, bytes, packId).entries.length).toBeGreaterThan(0);
        const where = parsePackFooter(bytes.subarray(bytes.length - PACK_FOOTER_LENGTH), bytes.length, packId);
        const header = bytes.subarray(where.offset, where.offset + where.length);
        const key = repo.keys.packKey(bytes.subarray(5, PACK_PREFIX_LENGTH));
        const storeOnly = Buffer.concat([Buffer.from(repo.config.id, 'hex'), Buffer.from('pack header')]);
        let opened: boolean;
        try {
          open(repo.keys.cipher, key, header, storeOnly, 'header');
          opened = true;
        } catch (err) {
          expect(isSinkiError(err, 'CORRUPT')).toBe(true);
          opened = false;
        }
        expect(opened).toBe(!bound);
        // A pack whose version byte was changed (2 → 1: fixed-size entries) is refused, not misread.
        const flipped = Buffer.from(bytes);
        flipped[4] = 1;
        if (bound) expect(() => readPackHeader(repo.keys, flipped, packId)).toThrow(/authentication failed/);
      } finally {
        await repo.backend.close();
      }
    }
  });
});
