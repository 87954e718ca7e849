import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ChunkCache } from '../../../src/fuse/chunk-cache.js';
import { FileIo } from '../../../src/fuse/file-io.js';
import { DirEntries, DirNode, FileNode, LinkNode, nowNs, type Meta } from '../../../src/fuse/nodes.js';
import type { Repository } from '../../../src/repo/repository.js';
import { encodeTree, type TreeNode } from '../../../src/repo/tree.js';
import { initRepo } from '../../helpers/store.js';
import { removeTempDirs, tempDir } from '../../helpers/temp.js';

const meta = (): Meta => ({ mode: 0o644, uid: 0, gid: 0, mtimeNs: nowNs(), ctimeNs: nowNs() });
const newFile = (name = 'f'): FileNode => new FileNode(0, meta(), 0, [], name, false);
const KiB = 1024;

async function readAll(io: FileIo, file: FileNode): Promise<Buffer> {
  // Not zeros: a read that skips part of its range must show.
  const out = Buffer.alloc(file.size, 0xee);
  let done = 0;
  while (done < file.size) {
    const n = await io.read(file, out.subarray(done), file.size - done, done);
    if (n === 0) break;
    done += n;
  }
  return out.subarray(0, done);
}

describe('FileIo dirty chunks', () => {
  let repo: Repository;
  beforeAll(async () => {
    repo = await initRepo(await tempDir('file-io'), 'pw');
  });
  afterAll(removeTempDirs);

  it('small files take their own size in the write buffer: 100 files of 1 KiB all stay dirty under a 1 MiB buffer', async () => {
    const io = new FileIo(repo, new ChunkCache(repo, 1 << 20), 4 << 20, 1 << 20);
    const files = Array.from({ length: 100 }, (_, i) => newFile(`f${i}`));
    for (const f of files) await io.write(f, Buffer.alloc(KiB, 7), 0);
    expect(files.filter((f) => f.dirty.size === 1 && f.chunks[0]![0] === null)).toHaveLength(100);
    expect(Math.max(...files.map((f) => f.dirty.get(0)!.length))).toBeLessThanOrEqual(4 * KiB);
    await io.sealAll();
    for (const f of files) expect((await readAll(io, f)).equals(Buffer.alloc(KiB, 7))).toBe(true);
  });

  it('a sealed one-chunk file goes into its tree as its hash alone, with no HMAC at each commit', async () => {
    const io = new FileIo(repo, new ChunkCache(repo, 1 << 20), 4 << 20, 1 << 20);
    const file = newFile();
    await io.write(file, Buffer.from('one small file'), 0);
    await io.sealAll();
    const node = (chunks: Array<[string, number]>): TreeNode => ({
      name: 'f',
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      mtimeNs: '1',
      size: file.size,
      sha256: file.sha256!,
      chunks,
    });
    let hmacs = 0;
    const idOfSha256 = (sha: Buffer): string => {
      hmacs++;
      return repo.keys.blobIdOfSha256(sha);
    };
    const chunks = await io.storedChunks(file);
    const encoded = encodeTree({ nodes: [node(chunks)] }, idOfSha256);
    expect(hmacs).toBe(0);
    // The same bytes as for a list nobody vouched for, which costs the HMAC.
    expect(encoded.equals(encodeTree({ nodes: [node(chunks.map(([id, len]) => [id, len]))] }, idOfSha256))).toBe(true);
    expect(hmacs).toBe(1);
    expect(encoded.length).toBeLessThan(encodeTree({ nodes: [{ ...node(chunks), sha256: undefined }] }, idOfSha256).length);
  });

  it('a buffer grows as writes extend the chunk, and bytes never written read as zeros, dirty or sealed', async () => {
    const io = new FileIo(repo, new ChunkCache(repo, 1 << 20), 64 * KiB, 1 << 20);
    const file = newFile();
    await io.write(file, Buffer.from('head'), 0);
    await io.write(file, Buffer.from('tail'), 40_000);
    const want = Buffer.alloc(40_004);
    want.write('head', 0);
    want.write('tail', 40_000);
    expect((await readAll(io, file)).equals(want)).toBe(true);
    await io.resize(file, 60_000);
    expect((await readAll(io, file)).equals(Buffer.concat([want, Buffer.alloc(60_000 - want.length)]))).toBe(true);
    await io.sealAll();
    expect(file.chunks).toEqual([[expect.any(String), 60_000]]);
    expect((await readAll(io, file)).equals(Buffer.concat([want, Buffer.alloc(60_000 - want.length)]))).toBe(true);
  });

  it('any sequence of writes, truncates and commits reads back as the same operations on a plain buffer', async () => {
    const chunkSize = 64 * KiB;
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('write' as const),
        pos: fc.integer({ min: 0, max: 3 * chunkSize }),
        len: fc.integer({ min: 1, max: chunkSize + 100 }),
        byte: fc.integer({ min: 1, max: 255 }),
      }),
      fc.record({ kind: fc.constant('truncate' as const), size: fc.integer({ min: 0, max: 3 * chunkSize }) }),
      fc.record({ kind: fc.constant('seal' as const) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 12 }), fc.integer({ min: 8 * KiB, max: 256 * KiB }), async (ops, writeBuffer) => {
        const io = new FileIo(repo, new ChunkCache(repo, 1 << 20), chunkSize, writeBuffer);
        const file = newFile();
        let model = Buffer.alloc(0);
        for (const o of ops) {
          if (o.kind === 'write') {
            await io.write(file, Buffer.alloc(o.len, o.byte), o.pos);
            if (o.pos + o.len > model.length) model = Buffer.concat([model, Buffer.alloc(o.pos + o.len - model.length)]);
            model.fill(o.byte, o.pos, o.pos + o.len);
          } else if (o.kind === 'truncate') {
            await io.resize(file, o.size);
            model = o.size <= model.length ? model.subarray(0, o.size) : Buffer.concat([model, Buffer.alloc(o.size - model.length)]);
          } else await io.sealAll();
          expect(file.size).toBe(model.length);
          expect((await readAll(io, file)).equals(model)).toBe(true);
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('DirEntries', () => {
  it('counts its subfolders through adds, replacements and removals', () => {
    const entries = new DirEntries();
    const dir = (): DirNode => new DirNode(meta(), null, false, 1);
    entries.set('a', dir());
    entries.set('b', dir());
    entries.set('f', newFile());
    entries.set('l', new LinkNode(0, meta(), 'a'));
    expect(entries.subdirs).toBe(2);
    entries.set('a', newFile());
    entries.set('f', dir());
    entries.set('b', dir());
    expect(entries.subdirs).toBe(2);
    entries.delete('b');
    entries.delete('missing');
    entries.delete('l');
    expect(entries.subdirs).toBe(1);
    entries.clear();
    expect(entries.subdirs).toBe(0);
  });
});
