import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { decodeIndexSegment, encodeIndexSegment, type PackRecord } from '../../../src/repo/blob-index.js';
import { BlobKind, decodeEntries, encodeEntries, parsePackFooter, packFooter, type PackEntry } from '../../../src/repo/pack-format.js';
import { FileKind, openFile, sealFile } from '../../../src/repo/sealed-file.js';
import { Subkeys } from '../../../src/repo/subkeys.js';
import { PackBuilder } from '../../../src/repo/packer.js';
import { readPackHeader } from '../../../src/repo/pack-reader.js';
import { decodeTree, encodeTree, findNode, isSafeName } from '../../../src/repo/tree.js';
import { selectSnapshot, type StoredSnapshot } from '../../../src/repo/snapshot.js';
import { isSinkiError } from '../../../src/errors.js';
import { createHash } from 'node:crypto';

const hex32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((a) => Buffer.from(a).toString('hex'));
const entry = fc.record({
  kind: fc.constantFrom(BlobKind.Data, BlobKind.Tree),
  id: hex32,
  offset: fc.nat({ max: 0xffffffff }),
  length: fc.nat({ max: 0xffffffff }),
  plainLength: fc.nat({ max: 0xffffffff }),
}) as fc.Arbitrary<PackEntry>;

function keys(cipher: 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305' = 'aes-128-gcm'): Subkeys {
  return new Subkeys({ encKey: randomBytes(32), idKey: randomBytes(32) }, cipher, randomBytes(16).toString('hex'));
}

function expectCorrupt(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    expect(isSinkiError(err, 'CORRUPT')).toBe(true);
    return;
  }
  throw new Error('expected a CORRUPT error');
}

describe('pack entries and index segments', () => {
  it('round-trip any entry list', () => {
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 50 }), (entries) => {
        expect(decodeEntries(encodeEntries(entries), 0, 't').entries).toEqual(entries);
      }),
    );
  });

  it('round-trip any index segment', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ packId: hex32, entries: fc.array(entry, { maxLength: 10 }) }), { maxLength: 10 }), (packs: PackRecord[]) => {
        expect(decodeIndexSegment(encodeIndexSegment(packs), 't')).toEqual(packs);
      }),
    );
  });

  it('reject truncated or extended segments with CORRUPT, never a wrong list', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ packId: hex32, entries: fc.array(entry, { minLength: 1, maxLength: 5 }) }), { minLength: 1, maxLength: 4 }), fc.nat(), (packs, cut) => {
        const buf = encodeIndexSegment(packs);
        expectCorrupt(() => decodeIndexSegment(buf.subarray(0, cut % buf.length), 't'));
        expectCorrupt(() => decodeIndexSegment(Buffer.concat([buf, Buffer.of(0)]), 't'));
      }),
    );
  });

  it('footer locates the header and rejects a damaged footer', () => {
    const f = packFooter(100);
    expect(parsePackFooter(f, 1000, 'p')).toEqual({ offset: 1000 - 8 - 100, length: 100 });
    const bad = Buffer.from(f);
    bad[5] ^= 1;
    expectCorrupt(() => parsePackFooter(bad, 1000, 'p'));
    expectCorrupt(() => parsePackFooter(packFooter(990), 1000, 'p'));
  });
});

describe('packs', () => {
  for (const cipher of ['aes-128-gcm', 'aes-256-gcm', 'chacha20-poly1305'] as const) {
    it(`a built pack names itself by SHA-256 and its header opens (${cipher})`, () => {
      const k = keys(cipher);
      const b = new PackBuilder(k);
      const blobs = [randomBytes(100), randomBytes(5000), Buffer.alloc(0)];
      for (const blob of blobs) b.add(BlobKind.Data, k.blobId(blob), Buffer.concat([Buffer.of(0), blob]), blob.length);
      const pack = b.finish();
      expect(createHash('sha256').update(pack.bytes).digest('hex')).toBe(pack.id);
      const { entries } = readPackHeader(k, pack.bytes, pack.id);
      expect(entries).toEqual(pack.entries);
      const damaged = Buffer.from(pack.bytes);
      damaged[damaged.length - 20] ^= 0x40;
      expectCorrupt(() => readPackHeader(k, damaged, pack.id));
      expectCorrupt(() => readPackHeader(keys(cipher), pack.bytes, pack.id));
    });
  }
});

describe('sealed files', () => {
  it('open with the same keys, kind and name only', () => {
    const k = keys();
    const payload = randomBytes(300);
    const file = sealFile(k, FileKind.Ref, payload, 'head');
    expect(openFile(k, FileKind.Ref, file, 'f', 'head')).toEqual(payload);
    expectCorrupt(() => openFile(k, FileKind.Ref, file, 'f', 'other'));
    expectCorrupt(() => openFile(k, FileKind.Snapshot, file, 'f', 'head'));
    expectCorrupt(() => openFile(keys(), FileKind.Ref, file, 'f', 'head'));
    for (let i = 0; i < file.length; i += 7) {
      const flipped = Buffer.from(file);
      flipped[i] ^= 1;
      expectCorrupt(() => openFile(k, FileKind.Ref, flipped, 'f', 'head'));
    }
    expectCorrupt(() => openFile(k, FileKind.Ref, file.subarray(0, 30), 'f', 'head'));
  });
});

describe('trees', () => {
  it('sort entries, find them, and refuse names that could escape on restore', () => {
    const base = { mode: 0o644, uid: 0, gid: 0, mtimeNs: '1', size: 0, type: 'file' as const, chunks: [] as Array<[string, number]> };
    const tree = decodeTree(encodeTree({ nodes: [{ ...base, name: 'b' }, { ...base, name: 'a' }, { ...base, name: 'ü' }] }), 't');
    expect(tree.nodes.map((n) => n.name)).toEqual(['a', 'b', 'ü']);
    expect(findNode(tree, 'b')?.name).toBe('b');
    expect(findNode(tree, 'c')).toBeUndefined();
    for (const bad of ['..', '.', '', 'a/b', 'x\0y']) {
      expect(isSafeName(bad)).toBe(false);
      expectCorrupt(() => decodeTree(Buffer.from(JSON.stringify({ nodes: [{ ...base, name: bad }] })), 't'));
    }
    expectCorrupt(() => decodeTree(Buffer.from('{"nodes":[{"name":"d","type":"dir"}]}'), 't'));
    expectCorrupt(() => decodeTree(Buffer.from('not json'), 't'));
  });
});

describe('snapshot selection', () => {
  const snap = (id: string, time: string): StoredSnapshot => ({ id, time, host: 'h', username: 'u', paths: ['/x'], tags: [], tree: 't' });
  const all = [snap('aa11', '2026-01-02T00:00:00Z'), snap('aa22', '2026-01-03T00:00:00Z'), snap('bb33', '2026-01-01T00:00:00Z')];
  it('picks latest by time and unique prefixes', () => {
    expect(selectSnapshot(all, 'latest').id).toBe('aa22');
    expect(selectSnapshot(all, 'bb').id).toBe('bb33');
    expect(() => selectSnapshot(all, 'aa')).toThrow(/matches 2/);
    expect(() => selectSnapshot(all, 'cc')).toThrow(/no snapshot/);
    expect(() => selectSnapshot(all, 'zz!')).toThrow(/not a snapshot id/);
    expect(() => selectSnapshot([], 'latest')).toThrow(/no snapshots/);
  });
});
