import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSinkiError } from '../../../src/errors.js';
import { BlobIndex, encodeIndexSegment, type IndexEntry, type PackRecord } from '../../../src/repo/blob-index.js';
import { BlobKind, PACK_PREFIX_LENGTH, type PackEntry } from '../../../src/repo/pack-format.js';

/** The index as it was, one Map entry per blob: the semantics the compact one must keep exactly. */
class MapIndex {
  readonly blobs = new Map<string, IndexEntry>();
  readonly packs = new Map<string, PackEntry[]>();

  addPack(record: PackRecord): void {
    this.packs.set(record.packId, record.entries);
    for (const e of record.entries) {
      const known = this.blobs.get(e.id);
      if (!known || e.length <= known.length)
        this.blobs.set(e.id, { packId: record.packId, kind: e.kind, offset: e.offset, length: e.length, plainLength: e.plainLength });
    }
  }

  dropPack(packId: string): void {
    for (const e of this.packs.get(packId) ?? []) if (this.blobs.get(e.id)?.packId === packId) this.blobs.delete(e.id);
    this.packs.delete(packId);
  }
}

/** Few distinct ids and packs, so copies, replacements and re-added packs come up often. */
const ID_POOL = Array.from({ length: 12 }, (_, i) =>
  i < 6 ? 'ab'.repeat(2) + i.toString(16).padStart(60, '0') : ((i * 37) % 256).toString(16).padStart(2, '0').repeat(32),
);
const PACK_POOL = ['11', '22', '33', '44'].map((b) => b.repeat(32));

const entriesArb = fc.array(
  fc.record({
    id: fc.constantFrom(...ID_POOL),
    kind: fc.constantFrom(BlobKind.Data, BlobKind.Tree),
    length: fc.integer({ min: 29, max: 40 }),
    plainLength: fc.nat(100),
  }),
  { maxLength: 8 },
);

/** Entries lying end to end from the pack prefix, as compact lists need. */
function endToEnd(list: Array<{ id: string; kind: BlobKind; length: number; plainLength: number }>): PackEntry[] {
  let offset = PACK_PREFIX_LENGTH;
  return list.map((e) => {
    const entry = { ...e, offset };
    offset += e.length;
    return entry;
  });
}

type Op =
  | { op: 'add'; packId: string; entries: PackEntry[] }
  | { op: 'segment'; packs: PackRecord[]; compact: boolean }
  | { op: 'drop'; packId: string }
  | { op: 'load'; packs: PackRecord[] };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('add' as const), packId: fc.constantFrom(...PACK_POOL), entries: entriesArb.map(endToEnd) }),
  fc.record({
    op: fc.constant('segment' as const),
    packs: fc.array(fc.record({ packId: fc.constantFrom(...PACK_POOL), entries: entriesArb.map(endToEnd) }), { maxLength: 3 }),
    compact: fc.boolean(),
  }),
  fc.record({ op: fc.constant('drop' as const), packId: fc.constantFrom(...PACK_POOL) }),
  fc.record({
    op: fc.constant('load' as const),
    packs: fc.array(fc.record({ packId: fc.constantFrom(...PACK_POOL), entries: entriesArb.map(endToEnd) }), { maxLength: 6 }),
  }),
);

function expectSame(index: BlobIndex, model: MapIndex): void {
  expect(index.blobCount).toBe(model.blobs.size);
  expect(index.packIds()).toEqual([...model.packs.keys()]);
  for (const id of ID_POOL) {
    expect(index.get(id)).toEqual(model.blobs.get(id));
    expect(index.getBytes(Buffer.concat([Buffer.of(7), Buffer.from(id, 'hex')]), 1)).toEqual(model.blobs.get(id));
    expect(index.has(id)).toBe(model.blobs.has(id));
    expect(index.packIdOf(id)).toBe(model.blobs.get(id)?.packId);
    expect(index.hasBytes(Buffer.from(id, 'hex'))).toBe(model.blobs.has(id));
  }
  for (const packId of PACK_POOL) {
    const entries = model.packs.get(packId);
    expect(index.packEntries(packId)).toEqual(entries);
    expect(index.hasPack(packId)).toBe(entries !== undefined);
    expect(index.packEntryCount(packId)).toBe(entries?.length);
    for (const e of entries ?? [])
      expect(index.readsFrom(packId, e)).toBe(model.blobs.get(e.id)?.packId === packId && model.blobs.get(e.id)?.offset === e.offset);
  }
}

describe('BlobIndex (compact records and an open-addressing table)', () => {
  it('answers every query as a Map of id → entry would, through adds, segments, loads, drops, paging, rehashing and compaction', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), fc.constantFrom(0, 1, 2, 16), (ops, pageBits) => {
        const index = new BlobIndex(pageBits);
        const model = new MapIndex();
        for (const o of ops) {
          if (o.op === 'add') {
            index.addPack({ packId: o.packId, entries: o.entries });
            model.addPack({ packId: o.packId, entries: o.entries });
          } else if (o.op === 'segment') {
            const packIds = index.addSegment(encodeIndexSegment(o.packs, o.compact), 'seg', o.compact);
            expect(packIds).toEqual(o.packs.map((p) => p.packId));
            for (const p of o.packs) model.addPack(p);
          } else if (o.op === 'drop') {
            index.dropPack(o.packId);
            model.dropPack(o.packId);
          } else {
            // As IndexFiles.load does: ids hashed once at the end, one segment a pack here.
            index.startLoading();
            for (const p of o.packs) {
              index.addSegment(encodeIndexSegment([p], true), 'seg', true);
              model.addPack(p);
              expect(index.packIds()).toEqual([...model.packs.keys()]);
            }
            index.finishLoading();
          }
          expectSame(index, model);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a damaged segment adds nothing and is reported CORRUPT', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ packId: fc.constantFrom(...PACK_POOL), entries: entriesArb.map(endToEnd) }), { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        fc.nat(),
        (packs, compact, cut) => {
          const index = new BlobIndex(1);
          index.addPack({ packId: PACK_POOL[0]!, entries: endToEnd([{ id: ID_POOL[0]!, kind: BlobKind.Data, length: 30, plainLength: 1 }]) });
          const model = new MapIndex();
          model.addPack({ packId: PACK_POOL[0]!, entries: endToEnd([{ id: ID_POOL[0]!, kind: BlobKind.Data, length: 30, plainLength: 1 }]) });
          const buf = encodeIndexSegment(packs, compact);
          for (const bad of [buf.subarray(0, cut % buf.length), Buffer.concat([buf, Buffer.of(0)])]) {
            let caught: unknown;
            try {
              index.addSegment(bad, 'seg', compact);
            } catch (err) {
              caught = err;
            }
            expect(isSinkiError(caught, 'CORRUPT')).toBe(true);
            expectSame(index, model);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('keeps a million ids findable through growth, and drops a pack of them', () => {
    const index = new BlobIndex();
    const id = Buffer.alloc(32);
    const packs: PackRecord[] = [];
    for (let p = 0; p < 100; p++) {
      const entries: PackEntry[] = [];
      for (let i = 0; i < 10_000; i++) {
        id.writeUInt32LE(p * 10_000 + i, 0);
        id.writeUInt32LE(0x5eed, 28);
        entries.push({ kind: BlobKind.Data, id: id.toString('hex'), offset: 37 + i * 30, length: 30, plainLength: 1 });
      }
      packs.push({ packId: p.toString(16).padStart(64, '0'), entries });
      index.addSegment(encodeIndexSegment([packs[p]!], true), 'seg', true);
      packs[p]!.entries.length = p < 2 ? packs[p]!.entries.length : 0;
    }
    expect(index.blobCount).toBe(1_000_000);
    index.dropPack(packs[0]!.packId);
    expect(index.blobCount).toBe(990_000);
    expect(index.has(packs[0]!.entries[5]!.id)).toBe(false);
    expect(index.get(packs[1]!.entries[5]!.id)).toEqual({ packId: packs[1]!.packId, kind: BlobKind.Data, offset: 37 + 150, length: 30, plainLength: 1 });
    for (let i = 0; i < 1_000_000; i += 9_973) {
      id.writeUInt32LE(i, 0);
      expect(index.hasBytes(id)).toBe(i >= 10_000);
    }
    expect(index.memoryBytes / index.blobCount).toBeLessThan(100);
  });
});
