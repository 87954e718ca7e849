import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, closeSync, lchownSync, lstatSync, lutimesSync, mkdirSync, openSync, promises as fs, renameSync, rmSync, symlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SinkiError, isSinkiError } from '../errors.js';
import type { Repository } from '../repo/repository.js';
import { BlobKind } from '../repo/pack-format.js';
import type { TreeNode } from '../repo/tree.js';
import { resolvePath } from '../repo/tree-walk.js';

export interface RestoreOptions {
  /** Paths below the snapshot root; only these (and what is below them) are restored. */
  include?: string[];
  overwrite?: boolean;
  onProgress?: (p: RestoreProgress) => void;
  /** Called for each entry that could not be restored; restore goes on with the others. */
  onError?: (path: string, err: Error) => void;
}

export interface RestoreProgress {
  filesDone: number;
  bytesDone: number;
  currentPath: string;
}

export interface RestoreResult {
  files: number;
  bytes: number;
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

/** Restores a snapshot (or parts of it) under `target`; every byte written was verified. */
export async function restore(repo: Repository, rootTree: string, target: string, options: RestoreOptions = {}): Promise<RestoreResult> {
  return new Restorer(repo, target, options).run(rootTree);
}

/**
 * Streams a file's verified bytes chunk by chunk, with a few chunks fetched ahead: at most PREFETCH
 * of them and PREFETCH_BYTES of plaintext (always at least the next one), so big chunks do not pile up.
 */
export async function* readFileChunks(repo: Repository, chunks: ReadonlyArray<[string, number]>): AsyncGenerator<Buffer> {
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
  private readonly result: RestoreResult = { files: 0, bytes: 0, failed: 0, corrupt: 0 };
  private readonly running = new Set<Promise<void>>();
  private largeRunning = 0;
  private readonly dirMeta: Array<{ path: string; node: TreeNode }> = [];
  private lastReport = 0;

  constructor(
    private readonly repo: Repository,
    private readonly target: string,
    private readonly options: RestoreOptions,
  ) {}

  async run(rootTree: string): Promise<RestoreResult> {
    await fs.mkdir(this.target, { recursive: true }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EEXIST' || err.code === 'ENOTDIR') throw new SinkiError('USAGE', `restore target ${this.target} is not a folder`);
      throw err;
    });
    const includes = (this.options.include ?? []).map((p) => p.split('/').filter(Boolean).join('/'));
    if (includes.length === 0) await this.restoreDir(rootTree, this.target, '');
    for (const inc of includes) {
      const found = await resolvePath(this.repo, rootTree, inc);
      if (!found) {
        await this.restoreDir(rootTree, this.target, '');
        continue;
      }
      const parent = join(this.target, dirname(found.path));
      await fs.mkdir(parent, { recursive: true });
      await this.restoreNode(found.node, join(this.target, found.path), found.path);
    }
    await Promise.all(this.running);
    // Directory times last, deepest first, so writing their contents does not change them.
    for (const { path, node } of this.dirMeta.reverse()) {
      try {
        applyMetaNow(path, node);
      } catch (err) {
        this.fail(path, err as Error);
      }
    }
    this.options.onProgress?.({ filesDone: this.result.files, bytesDone: this.result.bytes, currentPath: '' });
    return this.result;
  }

  private fail(path: string, err: Error): void {
    this.result.failed += 1;
    if (isSinkiError(err, 'CORRUPT')) this.result.corrupt += 1;
    this.options.onError?.(path, err);
  }

  private async restoreDir(treeId: string, abs: string, rel: string): Promise<void> {
    let tree;
    try {
      tree = await this.repo.loadTree(treeId);
    } catch (err) {
      this.fail(rel || '/', err as Error);
      return;
    }
    for (const node of tree.nodes) await this.restoreNode(node, join(abs, node.name), rel ? `${rel}/${node.name}` : node.name);
  }

  private async restoreNode(node: TreeNode, abs: string, rel: string): Promise<void> {
    try {
      // Folders and links are metadata only: synchronous calls, as for small files (restoreSmallFile).
      if (node.type === 'dir') {
        try {
          mkdirSync(abs);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
        this.dirMeta.push({ path: abs, node });
        await this.restoreDir(node.subtree!, abs, rel);
      } else if (node.type === 'symlink') {
        if (existsNow(abs)) {
          if (!this.options.overwrite) throw new SinkiError('EXISTS', 'exists (use --overwrite to replace it)');
          rmSync(abs, { force: true });
        }
        symlinkSync(node.target!, abs);
        applyMetaNow(abs, node);
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

  private async restoreFile(node: TreeNode, abs: string, rel: string): Promise<void> {
    if (node.size <= SMALL_FILE) return this.restoreSmallFile(node, abs, rel);
    if (!this.options.overwrite && (await exists(abs))) throw new SinkiError('EXISTS', 'exists (use --overwrite to replace it)');
    const temp = join(dirname(abs), `.${randomBytes(4).toString('hex')}.sinki-partial`);
    const handle = await fs.open(temp, 'wx', 0o600);
    const sha = createHash('sha256');
    try {
      for await (const chunk of readFileChunks(this.repo, node.chunks ?? [])) {
        sha.update(chunk);
        await handle.write(chunk);
        this.result.bytes += chunk.length;
        this.report(rel);
      }
      await handle.close();
      if (node.sha256 && sha.digest('hex') !== node.sha256) throw new SinkiError('CORRUPT', 'content does not match the recorded SHA-256');
      await this.applyMeta(temp, node);
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
    if (!this.options.overwrite && existsNow(abs)) throw new SinkiError('EXISTS', 'exists (use --overwrite to replace it)');
    const parts: Buffer[] = [];
    for await (const chunk of readFileChunks(this.repo, node.chunks ?? [])) parts.push(chunk);
    const data = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    if (node.sha256 && createHash('sha256').update(data).digest('hex') !== node.sha256) throw new SinkiError('CORRUPT', 'content does not match the recorded SHA-256');
    const temp = join(dirname(abs), `.${randomBytes(4).toString('hex')}.sinki-partial`);
    const fd = openSync(temp, 'wx', 0o600);
    let open = true;
    try {
      for (let done = 0; done < data.length; ) done += writeSync(fd, data, done, data.length - done);
      open = false;
      closeSync(fd);
      applyMetaNow(temp, node);
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

  private async applyMeta(abs: string, node: TreeNode): Promise<void> {
    if (isRoot) await fs.lchown(abs, node.uid, node.gid).catch(() => undefined);
    if (node.type !== 'symlink') await fs.chmod(abs, node.mode);
    const mtime = mtimeSeconds(node);
    await fs.lutimes(abs, mtime, mtime);
  }

  private report(path: string): void {
    const now = Date.now();
    if (!this.options.onProgress || now - this.lastReport < 250) return;
    this.lastReport = now;
    this.options.onProgress({ filesDone: this.result.files, bytesDone: this.result.bytes, currentPath: path });
  }
}

/** applyMeta with synchronous calls. */
function applyMetaNow(abs: string, node: TreeNode): void {
  if (isRoot) {
    try {
      lchownSync(abs, node.uid, node.gid);
    } catch {
      // ownership is best effort, as in applyMeta
    }
  }
  if (node.type !== 'symlink') chmodSync(abs, node.mode);
  const mtime = mtimeSeconds(node);
  lutimesSync(abs, mtime, mtime);
}

function mtimeSeconds(node: TreeNode): number {
  return Number(BigInt(node.mtimeNs) / 1000n) / 1e6;
}

function existsNow(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  return fs.lstat(path).then(
    () => true,
    () => false,
  );
}
