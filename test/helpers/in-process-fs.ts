/*
 * The mount's filesystem without a kernel: a SinkiFilesystem over a real temp store, built the way
 * src/fuse/mount-session.ts builds one, called directly (errors come back as FsError with an errno).
 * Fast feedback for the FUSE layer; test/fuse/ gives the kernel's word over real mounts.
 */
import { join } from 'node:path';
import { LocalBackend } from '../../src/backend/local.js';
import { ChunkCache } from '../../src/fuse/chunk-cache.js';
import { FileIo } from '../../src/fuse/file-io.js';
import { SinkiFilesystem } from '../../src/fuse/filesystem.js';
import { FsError } from '../../src/fuse/fuse-adapter.js';
import { InodeTable } from '../../src/fuse/inodes.js';
import { Mutex } from '../../src/fuse/mutex.js';
import { DirEntries, DirNode, nowNs } from '../../src/fuse/nodes.js';
import { SnapshotsDir } from '../../src/fuse/snapshots-dir.js';
import { TreeStore } from '../../src/fuse/tree-store.js';
import { readHead, snapshotLiveTree, writeHead } from '../../src/repo/refs.js';
import { Repository } from '../../src/repo/repository.js';
import { DEFAULT_PARAMS, FAST_KDF } from './store.js';
import { tempDir } from './temp.js';

const PASSWORD = 'in-process';
/** Stores opened here: closeInProcessStores() closes the pack files they keep open. */
const opened = new Set<Repository>();

export interface InProcessOptions {
  /** The store's fixed split size (tests use small ones so that chunk boundaries come often). */
  chunkSize?: number;
  /** Dirty bytes held before the oldest chunk is sealed early (the mount's --write-buffer). */
  writeBuffer?: number;
  cacheSize?: number;
}

export interface InProcessFs {
  fs: SinkiFilesystem;
  repo: Repository;
  io: FileIo;
  storePath: string;
  /** Bytes the filesystem reported released (deletes, truncates, renames over files). */
  released: number[];
  /** What the mount's commit does: seal dirty chunks, save changed trees, flush, move refs/head. Returns the live tree. */
  commit(): Promise<string | null>;
  /** Commit, then take a snapshot of the live tree (it shows under /.snapshots). */
  snapshot(): Promise<string>;
  /** A new filesystem over the same store, opened afresh from what is committed (nothing uncommitted survives). */
  remount(): Promise<InProcessFs>;
}

/** A new store in a temp folder and a filesystem over its (empty) live tree. */
export async function newInProcessFs(options: InProcessOptions = {}): Promise<InProcessFs> {
  const storePath = join(await tempDir('in-process-fs'), 'store');
  const params = { ...DEFAULT_PARAMS, chunkSize: options.chunkSize ?? DEFAULT_PARAMS.chunkSize };
  const repo = await Repository.init(new LocalBackend(storePath), Buffer.from(PASSWORD), params, FAST_KDF);
  opened.add(repo);
  return buildFs(repo, storePath, options);
}

/** A filesystem over the live tree of an existing store (made by newInProcessFs). */
export async function openInProcessFs(storePath: string, options: InProcessOptions = {}): Promise<InProcessFs> {
  const repo = await Repository.open(new LocalBackend(storePath), Buffer.from(PASSWORD));
  opened.add(repo);
  return buildFs(repo, storePath, options);
}

/** For afterEach, before the temp folders are removed. */
export async function closeInProcessStores(): Promise<void> {
  const repos = [...opened];
  opened.clear();
  await Promise.all(repos.map((r) => r.backend.close()));
}

async function buildFs(repo: Repository, storePath: string, options: InProcessOptions): Promise<InProcessFs> {
  const mutex = new Mutex();
  const cache = new ChunkCache(repo, options.cacheSize ?? 64 * 2 ** 20);
  const io = new FileIo(repo, cache, repo.config.chunkSize, options.writeBuffer ?? 64 * 2 ** 20);
  const inodes = new InodeTable();
  const trees = new TreeStore(repo, io, inodes);
  const head = await readHead(repo);
  let headTree = head?.tree ?? null;
  const now = nowNs();
  const root = new DirNode(
    { mode: 0o755, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, mtimeNs: now, ctimeNs: now },
    headTree,
    false,
    inodes.root,
  );
  if (!head) root.children = new DirEntries();
  const snapshots = new SnapshotsDir(repo, inodes);
  let dirty = false;
  const released: number[] = [];

  // mount-session.ts's commitHeld, step for step.
  const commitHeld = async (): Promise<string | null> => {
    if (!dirty) return headTree;
    dirty = false;
    try {
      await io.sealAll();
      const tree = await trees.save(root, fs.changed);
      await repo.flush({ now: true });
      if (tree !== headTree) {
        await writeHead(repo, { tree, time: new Date().toISOString() });
        headTree = tree;
      }
      return tree;
    } catch (err) {
      dirty = true;
      throw err;
    }
  };
  const commit = (): Promise<string | null> => mutex.run(commitHeld);

  const fs: SinkiFilesystem = new SinkiFilesystem(root, trees, io, snapshots, mutex, {
    storePath,
    storeIsLocal: true,
    changed: () => {
      dirty = true;
    },
    released: (bytes) => released.push(bytes),
    roomToWrite: () => Promise.resolve(),
    commitNow: async () => {
      await commit();
    },
  });

  return {
    fs,
    repo,
    io,
    storePath,
    released,
    commit,
    snapshot: async () => {
      dirty ||= headTree === null;
      const tree = await commit();
      if (!tree) throw new Error('no live tree to snapshot');
      const id = await snapshotLiveTree(repo, tree, []);
      snapshots.invalidate();
      return id;
    },
    remount: () => openInProcessFs(storePath, options),
  };
}

/** The errno name a call failed with ('ENOENT', ...), or 'ok'. */
export async function errnoOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    if (err instanceof FsError) return err.message;
    throw err;
  }
}

/** Creates (or replaces the contents of) `path` with `data`, through create/write/release. */
export async function writeFile(fs: SinkiFilesystem, path: string, data: Buffer | string, mode = 0o644): Promise<void> {
  const buf = Buffer.from(data);
  const fd = await fs.create(path, mode).catch(async (err: unknown) => {
    if (!(err instanceof FsError && err.message === 'EEXIST')) throw err;
    await fs.truncate(path, 0);
    return fs.open(path, 2);
  });
  if (buf.length > 0) expectFull(await fs.write(path, fd, buf, buf.length, 0), buf.length);
  await fs.release(path, fd);
}

/** The whole file read through open/read/release, in reads of `piece` bytes. */
export async function readFile(fs: SinkiFilesystem, path: string, piece = 128 * 1024): Promise<Buffer> {
  const fd = await fs.open(path, 0);
  try {
    return await readAll(fs, path, fd, piece);
  } finally {
    await fs.release(path, fd);
  }
}

/** Everything from offset 0 to the end through an open handle. */
export async function readAll(fs: SinkiFilesystem, path: string, fd: number, piece = 128 * 1024): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let pos = 0; ; ) {
    const buf = Buffer.alloc(piece);
    const n = await fs.read(path, fd, buf, piece, pos);
    if (n === 0) break;
    parts.push(buf.subarray(0, n));
    pos += n;
  }
  return Buffer.concat(parts);
}

function expectFull(n: number, want: number): void {
  if (n !== want) throw new Error(`short write: ${n} of ${want} bytes`);
}
