import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ChunkCache } from '../../../src/fuse/chunk-cache.js';
import { FileIo } from '../../../src/fuse/file-io.js';
import { FileNode, nowNs } from '../../../src/fuse/nodes.js';
import type { Repository } from '../../../src/repo/repository.js';
import { closeInProcessStores, newInProcessFs, openInProcessFs } from '../../helpers/in-process-fs.js';
import { removeTempDirs } from '../../helpers/temp.js';

/** Small chunks, a write buffer of three of them and a cache of two: boundaries, early seals and store reads come often. */
const CS = 4096;
const WRITE_BUFFER = 3 * CS;
const CACHE = 2 * CS;
const MAX_END = 10 * CS;

type Cmd =
  | { op: 'write'; pos: number; len: number; seed: number }
  | { op: 'truncate'; size: number }
  | { op: 'read'; pos: number; len: number }
  | { op: 'commit' }
  | { op: 'remount' };

/** Offsets near chunk boundaries as often as anywhere else. */
const offset = (max: number): fc.Arbitrary<number> =>
  fc.oneof(
    fc.integer({ min: 0, max }),
    fc.tuple(fc.integer({ min: 0, max: Math.floor(max / CS) }), fc.integer({ min: -2, max: 2 })).map(([i, d]) => Math.min(max, Math.max(0, i * CS + d))),
  );

const command: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ op: fc.constant('write' as const), pos: offset(MAX_END - 1), len: fc.integer({ min: 1, max: 3 * CS }), seed: fc.nat() }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('truncate' as const), size: offset(MAX_END) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('read' as const), pos: offset(MAX_END), len: fc.integer({ min: 0, max: 3 * CS }) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'commit' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'remount' as const }) },
);

/** Write data: a run of one byte (zeros too, which compress) or bytes that do not repeat. */
function bytes(len: number, seed: number): Buffer {
  if (seed % 3 === 0) return Buffer.alloc(len, (seed >> 2) & 0xff);
  const out = Buffer.alloc(len);
  let x = seed | 1;
  for (let i = 0; i < len; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** The file as a plain Buffer: what every read must return. */
class Model {
  data = Buffer.alloc(0);
  write(pos: number, chunk: Buffer): void {
    if (pos + chunk.length > this.data.length) this.resize(pos + chunk.length);
    chunk.copy(this.data, pos);
  }
  resize(size: number): void {
    this.data = size <= this.data.length ? Buffer.from(this.data.subarray(0, size)) : Buffer.concat([this.data, Buffer.alloc(size - this.data.length)]);
  }
}

interface Open {
  repo: Repository;
  io: FileIo;
}

function fileIoOver(repo: Repository): Open {
  return { repo, io: new FileIo(repo, new ChunkCache(repo, CACHE), repo.config.chunkSize, WRITE_BUFFER) };
}

const newFile = (size: number, chunks: Array<[string | null, number]>): FileNode =>
  new FileNode(0, { mode: 0o644, uid: 0, gid: 0, mtimeNs: nowNs(), ctimeNs: nowNs() }, size, chunks, 'model.bin', false);

async function readAt(io: FileIo, file: FileNode, pos: number, len: number): Promise<Buffer> {
  const buf = Buffer.alloc(len);
  const n = await io.read(file, buf, len, pos);
  return buf.subarray(0, n);
}

async function runCommands(cmds: readonly Cmd[]): Promise<void> {
  const made = await newInProcessFs({ chunkSize: CS });
  let { repo, io } = fileIoOver(made.repo);
  let file = newFile(0, []);
  const model = new Model();
  let committed = { data: Buffer.alloc(0), chunks: [] as Array<[string, number]> };
  for (const cmd of cmds) {
    if (cmd.op === 'write') {
      const chunk = bytes(cmd.len, cmd.seed);
      await io.write(file, chunk, cmd.pos);
      model.write(cmd.pos, chunk);
    } else if (cmd.op === 'truncate') {
      await io.resize(file, cmd.size);
      model.resize(cmd.size);
    } else if (cmd.op === 'read') {
      expect((await readAt(io, file, cmd.pos, cmd.len)).equals(model.data.subarray(cmd.pos, cmd.pos + cmd.len))).toBe(true);
    } else if (cmd.op === 'commit') {
      // The mount's commit for one file: seal, list the chunks for its tree entry, flush.
      await io.sealAll();
      // A file of one chunk records that chunk's SHA-256 as its own; restore checks the file against it.
      if (file.sha256 !== undefined) {
        oneChunkHashesChecked += 1;
        expect(file.sha256).toBe(createHash('sha256').update(model.data).digest('hex'));
      }
      const chunks = await io.storedChunks(file);
      await repo.flush({ now: true });
      committed = { data: Buffer.from(model.data), chunks };
    } else {
      // What a new mount sees: the committed chunk list read through a store opened afresh.
      ({ repo, io } = fileIoOver((await openInProcessFs(made.storePath)).repo));
      file = newFile(
        committed.data.length,
        committed.chunks.map(([id, len]) => [id, len]),
      );
      model.data = Buffer.from(committed.data);
    }
    expect(file.size).toBe(model.data.length);
  }
  expect((await readAt(io, file, 0, file.size + 1)).equals(model.data)).toBe(true);
}

/** Commits at which a one-chunk file's recorded SHA-256 was compared with the model. */
let oneChunkHashesChecked = 0;

describe('FileIo against a plain Buffer', () => {
  afterAll(async () => {
    await closeInProcessStores();
    await removeTempDirs();
  });

  it('any sequence of writes, truncates, commits and remounts reads back as the model, over 4 KiB chunks', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 40 }), async (cmds) => {
        try {
          await runCommands(cmds);
        } finally {
          await closeInProcessStores();
          await removeTempDirs();
        }
      }),
      { numRuns: 250 },
    );
  });

  it("a one-chunk file records its SHA-256 at the commit, and it is the content's", async () => {
    const before = oneChunkHashesChecked;
    await runCommands([{ op: 'write', pos: 0, len: 100, seed: 7 }, { op: 'commit' }, { op: 'write', pos: 10, len: 5, seed: 8 }, { op: 'commit' }]);
    expect(oneChunkHashesChecked - before).toBe(2);
  });

  it('a shrink inside a sealed chunk followed by a write past the end reads zeros between, before and after a remount', async () => {
    await runCommands([
      { op: 'write', pos: 0, len: 2 * CS, seed: 1 },
      { op: 'commit' },
      { op: 'truncate', size: CS + 10 },
      { op: 'write', pos: 3 * CS, len: 5, seed: 3 },
      { op: 'read', pos: CS, len: 3 * CS },
      { op: 'commit' },
      { op: 'remount' },
      { op: 'read', pos: 0, len: 4 * CS },
    ]);
  });
});
