import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  futimesSync,
  lchownSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  promises as fs,
  readdirSync,
  readlinkSync,
  type BigIntStats,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { SinkiError, isSinkiError } from '../errors.js';
import type { BlobLoader, TreeLoader } from '../repo/interfaces.js';
import { BlobKind } from '../repo/pack-format.js';
import { isSafeName, type Tree, type TreeNode } from '../repo/tree.js';
import { resolvePath } from '../repo/tree-walk.js';

export interface RestoreOptions {
  /** Paths below the snapshot root; only these (and what is below them) are restored. */
  include?: string[];
  overwrite?: boolean;
  /**
   * A file already at its place with the snapshot's size and modification time counts as restored
   * (a re-run resumes); with `verify` its content is checked too (against the recorded SHA-256, or
   * the stored chunks), and one that differs is an existing file like any other.
   */
  verify?: boolean;
  onProgress?: (p: RestoreProgress) => void;
  /** Called for each entry that could not be restored; restore goes on with the others. */
  onError?: (path: string, err: Error) => void;
}

export interface RestoreProgress {
  /** Restored or found already there. */
  filesDone: number;
  bytesDone: number;
  currentPath: string;
}

export interface RestoreResult {
  files: number;
  bytes: number;
  /** Files already there and identical (an earlier run restored them): left as they are. */
  skipped: number;
  skippedBytes: number;
  failed: number;
  corrupt: number;
}

const PREFETCH = 4;
/** Plaintext fetched ahead per file: restore holds about PARALLEL_LARGE_FILES × this in chunks (small files hold less). */
const PREFETCH_BYTES = 8 * 1024 * 1024;
/** Files restored at once; small ones wait mostly for their blob reads, so many run side by side. */
const PARALLEL_FILES = 16;
/** Of those, files larger than SMALL_FILE (each holds up to PREFETCH_BYTES of chunks ahead). */
const PARALLEL_LARGE_FILES = 4;
const isRoot = process.getuid?.() === 0;
/** Files up to this size are verified whole in memory, then written with synchronous calls (restoreSmallFile). */
const SMALL_FILE = 256 * 1024;
/** A temp file of restore's own: never an existing file, never through a link. */
const NEW_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
/** A folder restore made or checked, opened to set its metadata: never through a link. */
const OPEN_DIR = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
/** Folders restore makes stay private until their metadata is applied, last: nobody else can swap their entries meanwhile. */
const NEW_DIR_MODE = 0o700;

/** Which folder (device and inode) restore made or checked at a path: its metadata goes to that folder only. */
interface DirIdentity {
  dev: number;
  ino: number;
  /** It was there before (an earlier run, or the user's): partial files of an earlier run may be in it. */
  existed?: boolean;
}

/**
 * Restores a snapshot (or parts of it) under `target`; every byte written was verified.
 *
 * Nothing is written outside `target`, whatever the store or the target hold: entry names are safe
 * and unique (decodeTree), and restore follows no link below `target`. A folder is made, or an
 * existing one used only after lstat shows a real folder (a link or file in its place is an
 * existing entry: --overwrite replaces it); files are written to new temp files (O_EXCL |
 * O_NOFOLLOW) renamed into place, which replaces a link rather than writing through it; metadata
 * goes through the file's own descriptor, a folder's through one opened with O_NOFOLLOW and
 * checked to be the folder restore made, a link's with lchown/lutimes.
 */
export async function restore(repo: BlobLoader & TreeLoader, rootTree: string, target: string, options: RestoreOptions = {}): Promise<RestoreResult> {
  return new Restorer(repo, target, options).run(rootTree);
}

/**
 * Streams a file's verified bytes chunk by chunk, with a few chunks fetched ahead: at most PREFETCH
 * of them and PREFETCH_BYTES of plaintext (always at least the next one), so big chunks do not pile up.
 */
export async function* readFileChunks(repo: BlobLoader, chunks: ReadonlyArray<[string, number]>): AsyncGenerator<Buffer> {
  const ahead: Array<{ blob: Promise<Buffer>; length: number }> = [];
  let aheadBytes = 0;
  let next = 0;
  const fill = (): void => {
    while (next < chunks.length && (ahead.length === 0 || (ahead.length < PREFETCH && aheadBytes + chunks[next]![1] <= PREFETCH_BYTES))) {
      const [id, length] = chunks[next]!;
      const blob = repo.loadBlob(id, BlobKind.Data);
      blob.catch(() => undefined);
      ahead.push({ blob, length });
      aheadBytes += length;
      next += 1;
    }
  };
  fill();
  while (ahead.length > 0) {
    const { blob, length } = ahead.shift()!;
    const buf = await blob;
    aheadBytes -= length;
    fill();
    yield buf;
  }
}

class Restorer {
  private readonly result: RestoreResult = { files: 0, bytes: 0, skipped: 0, skippedBytes: 0, failed: 0, corrupt: 0 };
  private readonly running = new Set<Promise<void>>();
  private largeRunning = 0;
  private readonly dirMeta: Array<{ path: string; node: TreeNode; identity: DirIdentity }> = [];
  private lastReport = 0;

  constructor(
    private readonly repo: BlobLoader & TreeLoader,
    private readonly target: string,
    private readonly options: RestoreOptions,
  ) {}

  async run(rootTree: string): Promise<RestoreResult> {
    const includes = (this.options.include ?? []).map((p) => p.split('/').filter(Boolean).join('/'));
    // A root that cannot be read is one error for the whole restore (before anything is made), not an entry that failed.
    const root = includes.length === 0 ? await this.repo.loadTree(rootTree) : null;
    await fs.mkdir(this.target, { recursive: true }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EEXIST' || err.code === 'ENOTDIR') throw new SinkiError('USAGE', `restore target ${this.target} is not a folder`);
      throw err;
    });
    removePartials(this.target);
    if (root) await this.restoreNodes(root.nodes, this.target, '');
    for (const inc of includes) {
      const found = await resolvePath(this.repo, rootTree, inc);
      if (!found) {
        await this.restoreDir(rootTree, this.target, '');
        continue;
      }
      const parents = dirname(found.path)
        .split('/')
        .filter((p) => p !== '.');
      try {
        for (const [i] of parents.entries()) makeDir(join(this.target, ...parents.slice(0, i + 1)), 0o777, this.options.overwrite);
      } catch (err) {
        this.fail(found.path, err as Error);
        continue;
      }
      await this.restoreNode(found.node, join(this.target, found.path), found.path);
    }
    await Promise.all(this.running);
    // Directory times last, deepest first, so writing their contents does not change them.
    for (const { path, node, identity } of this.dirMeta.reverse()) {
      try {
        applyDirMeta(path, node, identity);
      } catch (err) {
        this.fail(path, err as Error);
      }
    }
    this.options.onProgress?.({ filesDone: this.result.files + this.result.skipped, bytesDone: this.result.bytes + this.result.skippedBytes, currentPath: '' });
    return this.result;
  }

  private fail(path: string, err: Error): void {
    this.result.failed += 1;
    if (isSinkiError(err, 'CORRUPT')) this.result.corrupt += 1;
    this.options.onError?.(path, err);
  }

  private async restoreDir(treeId: string, abs: string, rel: string): Promise<void> {
    let tree: Tree;
    try {
      tree = await this.repo.loadTree(treeId);
    } catch (err) {
      this.fail(rel || '/', err as Error);
      return;
    }
    await this.restoreNodes(tree.nodes, abs, rel);
  }

  private async restoreNodes(nodes: readonly TreeNode[], abs: string, rel: string): Promise<void> {
    for (const node of nodes) {
      const path = rel ? `${rel}/${node.name}` : node.name;
      // decodeTree refuses such names already; restore does not rely on it to stay inside its target.
      if (!isSafeName(node.name)) this.fail(path, new SinkiError('CORRUPT', `invalid entry name ${JSON.stringify(node.name)}`));
      else await this.restoreNode(node, join(abs, node.name), path);
    }
  }

  private async restoreNode(node: TreeNode, abs: string, rel: string): Promise<void> {
    try {
      // Folders and links are metadata only: synchronous calls, as for small files (restoreSmallFile).
      if (node.type === 'dir') {
        const identity = makeDir(abs, NEW_DIR_MODE, this.options.overwrite);
        if (identity.existed) removePartials(abs);
        this.dirMeta.push({ path: abs, node, identity });
        await this.restoreDir(node.subtree!, abs, rel);
      } else if (node.type === 'symlink') {
        const st = lstatOrNull(abs);
        if (st?.isSymbolicLink() && readlinkSync(abs) === node.target) {
          // This link (a killed run may have made it and not set its times yet).
          applyLinkMeta(abs, node);
          return;
        }
        if (st) {
          if (!this.options.overwrite) throw new SinkiError('EXISTS', 'exists (use --overwrite to replace it)');
          rmSync(abs, { force: true });
        }
        symlinkSync(node.target!, abs);
        applyLinkMeta(abs, node);
      } else {
        const large = node.size > SMALL_FILE;
        while (this.running.size >= PARALLEL_FILES || (large && this.largeRunning >= PARALLEL_LARGE_FILES)) await Promise.race(this.running);
        if (large) this.largeRunning += 1;
        const job: Promise<void> = this.restoreFile(node, abs, rel)
          .catch((err: Error) => this.fail(rel, err))
          .finally(() => {
            if (large) this.largeRunning -= 1;
            this.running.delete(job);
          });
        this.running.add(job);
      }
    } catch (err) {
      this.fail(rel, err as Error);
    }
  }

  /**
   * True when `abs` already holds this file (an earlier run restored it): counted as skipped. An
   * existing entry that is not the same file is refused unless `overwrite`.
   */
  private async alreadyThere(node: TreeNode, abs: string, rel: string): Promise<boolean> {
    const st = lstatOrNull(abs);
    if (!st) return false;
    if (st.isFile() && Number(st.size) === node.size && sameMtime(st, node) && (!this.options.verify || (await this.sameContent(node, abs)))) {
      this.result.skipped += 1;
      this.result.skippedBytes += node.size;
      this.report(rel);
      return true;
    }
    if (!this.options.overwrite) throw new SinkiError('EXISTS', 'exists and differs from the snapshot (use --overwrite to replace it)');
    return false;
  }

  /** The file's bytes against the recorded SHA-256, or, without one, against the stored chunks. */
  private async sameContent(node: TreeNode, abs: string): Promise<boolean> {
    const handle = await fs.open(abs, constants.O_RDONLY | constants.O_NOFOLLOW);
    const readFull = async (length: number): Promise<Buffer> => {
      const buf = Buffer.allocUnsafe(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(buf, done, length - done, null);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return buf.subarray(0, done);
    };
    try {
      if (node.sha256) {
        const sha = createHash('sha256');
        for (let got = await readFull(1 << 20); got.length > 0; got = await readFull(1 << 20)) sha.update(got);
        return sha.digest('hex') === node.sha256;
      }
      for await (const stored of readFileChunks(this.repo, node.chunks ?? [])) if (!(await readFull(stored.length)).equals(stored)) return false;
      return (await readFull(1)).length === 0;
    } finally {
      await handle.close();
    }
  }

  private async restoreFile(node: TreeNode, abs: string, rel: string): Promise<void> {
    if (await this.alreadyThere(node, abs, rel)) return;
    if (node.size <= SMALL_FILE) return this.restoreSmallFile(node, abs, rel);
    const temp = join(dirname(abs), `.${randomBytes(4).toString('hex')}.sinki-partial`);
    const handle = await fs.open(temp, NEW_FILE, 0o600);
    const sha = createHash('sha256');
    try {
      for await (const chunk of readFileChunks(this.repo, node.chunks ?? [])) {
        sha.update(chunk);
        await handle.write(chunk);
        this.result.bytes += chunk.length;
        this.report(rel);
      }
      if (node.sha256 && sha.digest('hex') !== node.sha256) throw new SinkiError('CORRUPT', 'content does not match the recorded SHA-256');
      applyMetaByFd(handle.fd, node);
      await handle.close();
      await fs.rename(temp, abs);
    } catch (err) {
      await handle.close().catch(() => undefined);
      await fs.rm(temp, { force: true });
      throw err;
    }
    this.result.files += 1;
  }

  /**
   * A small file is verified whole before anything is written, then written with synchronous calls:
   * from the page cache each is a few microseconds, while the seven trips through libuv's pool
   * (lstat, open, write, close, chmod, utimes, rename) cost the main thread more than the file's
   * data. The restorer is command-line only; the mount never runs it.
   */
  private async restoreSmallFile(node: TreeNode, abs: string, rel: string): Promise<void> {
    const parts: Buffer[] = [];
    for await (const chunk of readFileChunks(this.repo, node.chunks ?? [])) parts.push(chunk);
    const data = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    if (node.sha256 && createHash('sha256').update(data).digest('hex') !== node.sha256)
      throw new SinkiError('CORRUPT', 'content does not match the recorded SHA-256');
    const temp = join(dirname(abs), `.${randomBytes(4).toString('hex')}.sinki-partial`);
    const fd = openSync(temp, NEW_FILE, 0o600);
    let open = true;
    try {
      for (let done = 0; done < data.length; ) done += writeSync(fd, data, done, data.length - done);
      applyMetaByFd(fd, node);
      open = false;
      closeSync(fd);
      renameSync(temp, abs);
    } catch (err) {
      // Never close twice: the pool may already have reused the number for another file.
      if (open) closeSync(fd);
      rmSync(temp, { force: true });
      throw err;
    }
    this.result.bytes += data.length;
    this.result.files += 1;
    this.report(rel);
  }

  private report(path: string): void {
    const now = Date.now();
    if (!this.options.onProgress || now - this.lastReport < 250) return;
    this.lastReport = now;
    this.options.onProgress({ filesDone: this.result.files + this.result.skipped, bytesDone: this.result.bytes + this.result.skippedBytes, currentPath: path });
  }
}

/**
 * A real folder at `abs`: made now (with `mode`), or one already there. Never a link to one: a link,
 * file or anything else in its place is an existing entry, replaced (the entry itself, never what a
 * link points to) only with `overwrite`.
 */
function makeDir(abs: string, mode: number, overwrite: boolean | undefined): DirIdentity {
  for (let replaced = false; ; ) {
    let existed = false;
    try {
      mkdirSync(abs, mode);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      existed = true;
    }
    const st = lstatSync(abs);
    if (st.isDirectory()) return { dev: st.dev, ino: st.ino, existed };
    if (!overwrite) throw new SinkiError('EXISTS', `exists and is not a folder (${st.isSymbolicLink() ? 'a link' : 'a file'}; use --overwrite to replace it)`);
    if (replaced) throw new SinkiError('IO', 'replaced by something else while restoring');
    unlinkSync(abs);
    replaced = true;
  }
}

/** Owner (as root, best effort), mode and times of a file restore is writing, through its descriptor. */
function applyMetaByFd(fd: number, node: TreeNode): void {
  if (isRoot) {
    try {
      fchownSync(fd, node.uid, node.gid);
    } catch {
      // ownership is best effort
    }
  }
  fchmodSync(fd, node.mode);
  const mtime = mtimeSeconds(node);
  futimesSync(fd, mtime, mtime);
}

/** A folder's metadata, set only on the folder restore made or checked at that path (not a link, not a stand-in). */
function applyDirMeta(abs: string, node: TreeNode, identity: DirIdentity): void {
  const fd = openSync(abs, OPEN_DIR);
  try {
    const st = fstatSync(fd);
    if (st.dev !== identity.dev || st.ino !== identity.ino)
      throw new SinkiError('IO', 'replaced by another folder while restoring; its metadata was not applied');
    applyMetaByFd(fd, node);
  } finally {
    closeSync(fd);
  }
}

/** A link's owner and times; never a mode (chmod would reach what it points to). */
function applyLinkMeta(abs: string, node: TreeNode): void {
  if (isRoot) {
    try {
      lchownSync(abs, node.uid, node.gid);
    } catch {
      // ownership is best effort
    }
  }
  const mtime = mtimeSeconds(node);
  lutimesSync(abs, mtime, mtime);
}

function mtimeSeconds(node: TreeNode): number {
  return Number(BigInt(node.mtimeNs) / 1000n) / 1e6;
}

function lstatOrNull(path: string): BigIntStats | null {
  try {
    return lstatSync(path, { bigint: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * Restore sets times through futimes in seconds as a double, which Node keeps to the microsecond,
 * give or take the double's rounding: within 10 µs of the snapshot's time means restore set it
 * (or it is the original's).
 */
function sameMtime(st: BigIntStats, node: TreeNode): boolean {
  const diff = st.mtimeNs - BigInt(node.mtimeNs);
  return diff <= 10_000n && diff >= -10_000n;
}

/** The name restore gives a file while it writes it; one left by a killed run is removed by the next. */
const PARTIAL_NAME = /^\.[0-9a-f]{8}\.sinki-partial$/;

/** Removes the partial files (regular files with restore's temp name) a killed run left in `dir`. */
function removePartials(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!PARTIAL_NAME.test(name)) continue;
    const path = join(dir, name);
    if (lstatSync(path).isFile()) unlinkSync(path);
  }
}
