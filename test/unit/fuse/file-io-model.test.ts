import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ChunkCache } from '../../../src/fuse/chunk-cache.js';
import { FileIo } from '../../../src/fuse/file-io.js';
import { FileNode } from '../../../src/fuse/nodes.js';
import { initRepo } from '../../helpers/store.js';
import { removeTempDirs, tempDir } from '../../helpers/temp.js';

const CHUNK = 64 * 1024;

async function newIo(writeBuffer: number): Promise<FileIo> {
  const repo = await initRepo(join(await tempDir('file-io'), 'store'), 'pw');
  return new FileIo(repo, new ChunkCache(repo, 1), CHUNK, writeBuffer);
}

const newFile = (name: string): FileNode => new FileNode(0, { mode: 0o644, uid: 0, gid: 0, mtimeNs: 0n, ctimeNs: 0n }, 0, [], name, false);

async function readAll(io: FileIo, file: FileNode): Promise<Buffer> {
  const out = Buffer.alloc(file.size + 100, 0xee);
  const n = await io.read(file, out, out.length, 0);
  return out.subarray(0, n);
}

afterEach(removeTempDirs);

describe('FileIo dirty buffers', () => {
  it('a 1000-byte file holds a buffer of its own size, not one of the split size (git clones thousands of small files)', async () => {
    const io = await newIo(64 << 20);
    const file = newFile('small');
    await io.write(file, Buffer.alloc(1000, 1), 0);
    expect(file.dirty.get(0)!.length).toBe(1000);
    await io.write(file, Buffer.alloc(10_000, 2), 1000);
    expect(file.dirty.get(0)!.length).toBe(11_000);
    expect(await readAll(io, file)).toEqual(Buffer.concat([Buffer.alloc(1000, 1), Buffer.alloc(10_000, 2)]));
  });

  it('random writes, truncates and seals read back as an in-memory model says', async () => {
    // A write buffer of two chunks: the oldest dirty chunks are sealed (and reloaded) all the time.
    const io = await newIo(2 * CHUNK);
    const files = [newFile('a'), newFile('b')];
    const models = [Buffer.alloc(0), Buffer.alloc(0)];
    let state = 20261205;
    const rand = (n: number): number => {
      state = (state * 1103515245 + 12345) % 2147483648;
      return state % n;
    };
    for (let step = 0; step < 400; step++) {
      const f = rand(2);
      const file = files[f]!;
      const op = rand(10);
      if (op < 6) {
        const pos = rand(4 * CHUNK);
        const data = Buffer.alloc(1 + rand(op < 3 ? 600 : CHUNK + 100), step % 251);
        await io.write(file, data, pos);
        const grown = Buffer.alloc(Math.max(models[f]!.length, pos + data.length));
        models[f]!.copy(grown);
        data.copy(grown, pos);
        models[f] = grown;
      } else if (op < 8) {
        const size = rand(4 * CHUNK);
        await io.resize(file, size);
        const resized = Buffer.alloc(size);
        models[f]!.copy(resized, 0, 0, Math.min(size, models[f]!.length));
        models[f] = resized;
      } else if (op === 8) await io.sealAll();
      const got = await readAll(io, file);
      if (!got.equals(models[f]!))
        expect({ step, got: got.length, want: models[f]!.length, firstDiff: got.findIndex((b, i) => b !== models[f]![i]) }).toBeNull();
    }
    await io.sealAll();
    for (const [f, file] of files.entries()) expect((await readAll(io, file)).equals(models[f]!)).toBe(true);
  });
});
