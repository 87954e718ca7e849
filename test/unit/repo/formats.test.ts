import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { open } from '../../../src/crypto/aead.js';
import { decodeIndexSegment, encodeIndexSegment, type PackRecord } from '../../../src/repo/blob-index.js';
import { BlobKind, decodeEntries, encodeEntries, parsePackFooter, packFooter, PACK_PREFIX_LENGTH, type PackEntry } from '../../../src/repo/pack-format.js';
import { FileKind, openFile, sealFile } from '../../../src/repo/sealed-file.js';
import { Subkeys } from '../../../src/repo/subkeys.js';
import { PackBuilder } from '../../../src/repo/packer.js';
import { readPackHeader } from '../../../src/repo/pack-reader.js';
import { decodeTree, encodeTree, findNode, isSafeName, sameNodes, type TreeNode } from '../../../src/repo/tree.js';
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

/** Entries as a pack lays them out: end to end from the prefix on (compact lists leave offsets out). */
const packedEntries = fc
  .array(fc.record({ kind: entry.map((e) => e.kind), id: hex32, length: fc.nat({ max: 0xffff }), plainLength: fc.nat({ max: 0xffffffff }) }), { maxLength: 50 })
  .map((list) => {
    let offset = PACK_PREFIX_LENGTH;
    return list.map((e) => {
      const placed = { ...e, offset } as PackEntry;
      offset += e.length;
      return placed;
    });
  });

function keys(cipher: 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305' = 'aes-128-gcm'): Subkeys {
  return new Subkeys({ encKey: randomBytes(32), idKey: randomBytes(32) }, cipher, randomBytes(16).toString('hex'), true);
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
  it('round-trip any entry list (format 1: fixed entries with offsets)', () => {
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 50 }), (entries) => {
        expect(decodeEntries(encodeEntries(entries, false), 0, 't', false).entries).toEqual(entries);
      }),
    );
  });

  it('round-trip any packed entry list (format 2: compact, offsets implied), in at most 43 bytes an entry', () => {
    fc.assert(
      fc.property(packedEntries, (entries) => {
        const buf = encodeEntries(entries, true);
        expect(buf.length).toBeLessThanOrEqual(4 + 43 * entries.length);
        expect(decodeEntries(buf, 0, 't', true)).toEqual({ entries, end: buf.length });
      }),
    );
    const gap = [{ kind: BlobKind.Data, id: 'ab'.repeat(32), offset: PACK_PREFIX_LENGTH + 1, length: 10, plainLength: 9 }];
    expect(() => encodeEntries(gap, true)).toThrow(/not end to end/);
  });

  for (const compact of [false, true]) {
    const segments = fc.array(fc.record({ packId: hex32, entries: compact ? packedEntries : fc.array(entry, { maxLength: 10 }) }), { maxLength: 10 });
    it(`round-trip any index segment (${compact ? 'compact' : 'format 1'})`, () => {
      fc.assert(
        fc.property(segments, (packs: PackRecord[]) => {
          expect(decodeIndexSegment(encodeIndexSegment(packs, compact), 't', compact)).toEqual(packs);
        }),
      );
    });

    it(`reject truncated or extended segments with CORRUPT, never a wrong list (${compact ? 'compact' : 'format 1'})`, () => {
      fc.assert(
        fc.property(
          segments.filter((packs) => packs.length > 0 && packs.every((p) => p.entries.length > 0)),
          fc.nat(),
          (packs, cut) => {
            const buf = encodeIndexSegment(packs, compact);
            expectCorrupt(() => decodeIndexSegment(buf.subarray(0, cut % buf.length), 't', compact));
            expectCorrupt(() => decodeIndexSegment(Buffer.concat([buf, Buffer.of(0)]), 't', compact));
          },
        ),
      );
    });
  }

  it('a compact list whose blobs reach past 4 GiB is CORRUPT (offsets are 32-bit in the index)', () => {
    const big = (id: string, offset: number) => ({ kind: BlobKind.Data, id, offset, length: 0x80000000, plainLength: 1 });
    const fits = encodeEntries([big('aa'.repeat(32), PACK_PREFIX_LENGTH)], true);
    expect(decodeEntries(fits, 0, 't', true).entries).toHaveLength(1);
    const past = encodeEntries([big('aa'.repeat(32), PACK_PREFIX_LENGTH), big('bb'.repeat(32), PACK_PREFIX_LENGTH + 0x80000000)], true);
    expectCorrupt(() => decodeEntries(past, 0, 't', true));
  });

  it('footer locates the header and rejects a damaged footer', () => {
    const f = packFooter(100);
    expect(parsePackFooter(f, 1000, 'p')).toEqual({ offset: 1000 - 8 - 100, length: 100 });
    const bad = Buffer.from(f);
    bad[5] = bad[5]! ^ 1;
    expectCorrupt(() => parsePackFooter(bad, 1000, 'p'));
    expectCorrupt(() => parsePackFooter(packFooter(990), 1000, 'p'));
  });
});

describe('packs', () => {
  for (const cipher of ['aes-128-gcm', 'aes-256-gcm', 'chacha20-poly1305'] as const) {
    for (const version of [1, 2])
      it(`a built pack names itself by SHA-256 and its header opens (${cipher}, pack version ${version})`, () => {
        const k = keys(cipher);
        const b = new PackBuilder(k, version);
        const blobs = [randomBytes(100), randomBytes(5000), Buffer.alloc(0)];
        // One payload in one buffer, the others in pieces (the encoding byte, then the body): both seal the same way.
        for (const [i, blob] of blobs.entries())
          b.add(BlobKind.Data, k.blobId(blob), i === 0 ? Buffer.concat([Buffer.of(0), blob]) : [Buffer.of(0), blob], blob.length);
        const finished = b.finish();
        const pack = { ...finished, bytes: Buffer.concat(finished.pieces) };
        expect(pack.bytes.length).toBe(finished.size);
        expect(createHash('sha256').update(pack.bytes).digest('hex')).toBe(pack.id);
        const { entries } = readPackHeader(k, pack.bytes, pack.id);
        expect(entries).toEqual(pack.entries);
        const damaged = Buffer.from(pack.bytes);
        damaged[damaged.length - 20] = damaged[damaged.length - 20]! ^ 0x40;
        expectCorrupt(() => readPackHeader(k, damaged, pack.id));
        expectCorrupt(() => readPackHeader(keys(cipher), pack.bytes, pack.id));
        expect(pack.bytes[4]).toBe(version);
        const key = k.packKey(pack.bytes.subarray(5, 37));
        for (const [i, e] of entries.entries()) {
          const payload = open(k.cipher, key, pack.bytes.subarray(e.offset, e.offset + e.length), k.blobAad(e.kind, e.id), 'blob');
          expect(payload.equals(Buffer.concat([Buffer.of(0), blobs[i]!]))).toBe(true);
        }
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
      flipped[i] = flipped[i]! ^ 1;
      expectCorrupt(() => openFile(k, FileKind.Ref, flipped, 'f', 'head'));
    }
    expectCorrupt(() => openFile(k, FileKind.Ref, file.subarray(0, 30), 'f', 'head'));
  });
});

describe('trees', () => {
  it('sort entries, find them, and refuse names that could escape on restore', () => {
    const base = { mode: 0o644, uid: 0, gid: 0, mtimeNs: '1', size: 0, type: 'file' as const, chunks: [] as Array<[string, number]> };
    const tree = decodeTree(
      encodeTree({
        nodes: [
          { ...base, name: 'b' },
          { ...base, name: 'a' },
          { ...base, name: 'ü' },
        ],
      }),
      't',
    );
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

  const k = keys();
  const idOfSha256 = (sha: Buffer): string => k.blobIdOfSha256(sha);
  const time = fc.bigInt({ min: -(2n ** 62n), max: 2n ** 62n }).map(String);
  const common = {
    name: fc.string({ minLength: 1, maxLength: 20 }).filter(isSafeName),
    mode: fc.nat({ max: 0o7777 }),
    uid: fc.nat(),
    gid: fc.nat(),
    mtimeNs: time,
    ctimeNs: fc.option(time, { nil: undefined }),
    inode: fc.option(fc.nat(), { nil: undefined }),
  };
  const fileNode = fc.record({
    ...common,
    type: fc.constant('file' as const),
    size: fc.nat(),
    chunks: fc.array(fc.tuple(hex32, fc.nat()), { maxLength: 4 }),
    sha256: fc.option(hex32, { nil: undefined }),
  });
  /** A one-chunk file as format 2 writes it: the chunk's id follows from the file's SHA-256. */
  const derivedFile = fc.record({ ...common, content: fc.uint8Array({ maxLength: 64 }) }).map(({ content, ...n }): TreeNode => {
    const sha = createHash('sha256').update(content).digest();
    return { ...n, type: 'file', size: content.length, chunks: [[idOfSha256(sha), content.length]], sha256: sha.toString('hex') };
  });
  const dirNode = fc.record({ ...common, type: fc.constant('dir' as const), size: fc.constant(0), subtree: hex32 });
  const linkNode = fc.record({ ...common, type: fc.constant('symlink' as const), size: fc.constant(0), target: fc.string({ maxLength: 30 }) });
  const withoutUndefined = (n: object): TreeNode => Object.fromEntries(Object.entries(n).filter(([, v]) => v !== undefined)) as unknown as TreeNode;
  const trees = fc.uniqueArray(fc.oneof(fileNode, derivedFile, dirNode, linkNode).map(withoutUndefined), { selector: (n) => n.name, maxLength: 12 });

  it('format 2 (binary): any tree round-trips, and a one-chunk file stores its SHA-256 without the chunk id', () => {
    fc.assert(
      fc.property(trees, (nodes) => {
        const sorted = [...nodes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        expect(decodeTree(encodeTree({ nodes }, idOfSha256), 't', idOfSha256).nodes).toEqual(sorted);
        expect(decodeTree(encodeTree({ nodes }), 't').nodes).toEqual(sorted);
      }),
    );
    const content = Buffer.from('one chunk');
    const sha = createHash('sha256').update(content).digest();
    const node: TreeNode = {
      name: 'f',
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      mtimeNs: '1',
      size: content.length,
      chunks: [[idOfSha256(sha), content.length]],
      sha256: sha.toString('hex'),
    };
    const derived = encodeTree({ nodes: [node] }, idOfSha256);
    const explicit = encodeTree({ nodes: [{ ...node, chunks: [['ab'.repeat(32), content.length]] }] }, idOfSha256);
    expect(explicit.length - derived.length).toBe(32 + 2);
    // A decoded tree encodes to the same bytes; a decoded node given another hash keeps its chunk id.
    const decoded = decodeTree(derived, 't', idOfSha256);
    expect(encodeTree(decoded, idOfSha256).equals(derived)).toBe(true);
    const rehashed = { ...decoded.nodes[0]!, sha256: 'cd'.repeat(32) };
    expect(decodeTree(encodeTree({ nodes: [rehashed] }, idOfSha256), 't', idOfSha256).nodes[0]!.chunks).toEqual(node.chunks);
    // The same bytes under another store's id key name another chunk: the id is derived, not stored.
    const other = keys();
    expect(decodeTree(derived, 't', (s) => other.blobIdOfSha256(s)).nodes[0]!.chunks![0]![0]).not.toBe(node.chunks![0]![0]);
  });

  it('sameNodes: true exactly when the two lists encode to the same tree (a re-run then keeps the parent tree)', () => {
    fc.assert(
      fc.property(trees, trees, (a, b) => {
        const sorted = (n: TreeNode[]): TreeNode[] => [...n].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
        const same = encodeTree({ nodes: a }, idOfSha256).equals(encodeTree({ nodes: b }, idOfSha256));
        expect(sameNodes(sorted(a), sorted(b))).toBe(same);
        const decoded = decodeTree(encodeTree({ nodes: a }, idOfSha256), 't', idOfSha256).nodes;
        expect(sameNodes(decoded, sorted(a.map((n) => ({ ...n, chunks: n.chunks?.map(([id, len]) => [id, len] as [string, number]) }))))).toBe(true);
      }),
    );
    const file: TreeNode = {
      name: 'f',
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      mtimeNs: '5',
      ctimeNs: '6',
      size: 3,
      inode: 7,
      chunks: [['ab'.repeat(32), 3]],
      sha256: 'cd'.repeat(32),
    };
    const changes: Array<Partial<TreeNode>> = [
      { mode: 0o600 },
      { uid: 1 },
      { gid: 1 },
      { mtimeNs: '6' },
      { ctimeNs: '7' },
      { inode: 8 },
      { size: 4 },
      { sha256: 'ef'.repeat(32) },
      { chunks: [['ab'.repeat(32), 4]] },
      { chunks: [['ef'.repeat(32), 3]] },
      { name: 'g' },
    ];
    for (const change of changes) expect(sameNodes([file], [{ ...file, ...change }]), JSON.stringify(change)).toBe(false);
    expect(sameNodes([file], [{ ...file, chunks: [['ab'.repeat(32), 3]] }])).toBe(true);
    expect(sameNodes([file], [file, { ...file, name: 'g' }])).toBe(false);
  });

  it('format 2 (binary): truncated, extended or unknown-flag trees are CORRUPT, and so is a binary tree read as format 1', () => {
    fc.assert(
      fc.property(
        trees.filter((n) => n.length > 0),
        fc.nat(),
        (nodes, cut) => {
          const buf = encodeTree({ nodes }, idOfSha256);
          expectCorrupt(() => decodeTree(buf.subarray(0, 1 + (cut % (buf.length - 1))), 't', idOfSha256));
          expectCorrupt(() => decodeTree(Buffer.concat([buf, Buffer.of(0)]), 't', idOfSha256));
          expectCorrupt(() => decodeTree(buf, 't'));
        },
      ),
    );
    const one = encodeTree({ nodes: [{ name: 'a', type: 'symlink', mode: 0, uid: 0, gid: 0, mtimeNs: '0', size: 0, target: 'b' }] }, idOfSha256);
    for (const flags of [0x03, 0x40, 0x12 /* a symlink with a SHA-256 */, 0x20 /* derived without a SHA-256 */]) {
      const bad = Buffer.from(one);
      bad[2] = flags;
      expectCorrupt(() => decodeTree(bad, 't', idOfSha256));
    }
    const escaping = Buffer.from(one);
    escaping[4] = '/'.charCodeAt(0);
    expectCorrupt(() => decodeTree(escaping, 't', idOfSha256));
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
