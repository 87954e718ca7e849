import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
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
const PARALLEL_FILES = 4;
const isRoot = process.getuid?.() === 0;

/** Restores a snapshot (or parts of it) under `target`; every byte written was verified. */
export async function restore(repo: Repository, rootTree: string, target: string, options: RestoreOptions = {}): Promise<RestoreResult> {
  return new Restorer(repo, target, options).run(rootTree);
}

/** Streams a file's verified bytes chunk by chunk, with a few chunks fetched ahead. */
export async function* readFileChunks(repo: Repository, chunks: ReadonlyArray<[string, number]>): AsyncGenerator<Buffer> {
  const ahead: Array<Promise<Buffer>> = [];
  let next = 0;
  const fill = (): void => {
    while (ahead.length < PREFETCH && next < chunks.length) {
      const p = repo.loadBlob(chunks[next]![0], BlobKind.Data);
      p.catch(() => undefined);
      ahead.push(p);
      next += 1;
    }
  };
  fill();
  while (ahead.length > 0) {
    const buf = await ahead.shift()!;
    fill();
    yield buf;
  }
}

class Restorer {
  private readonly result: RestoreResult = { files: 0, bytes: 0, failed: 0, corrupt: 0 };
  private readonly running = new Set<Promise<void>>();
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
    for (const { path, node } of this.dirMeta.reverse()) await this.applyMeta(path, node).catch((err: Error) => this.fail(path, err));
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
      if (node.type === 'dir') {
        await fs.mkdir(abs).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'EEXIST') throw err;
        });
        this.dirMeta.push({ path: abs, node });
        await this.restoreDir(node.subtree!, abs, rel);
      } else if (node.type === 'symlink') {
        if (await exists(abs)) {
          if (!this.options.overwrite) throw new SinkiError('EXISTS', 'exists (use --overwrite to replace it)');
          await fs.rm(abs, { force: true });
        }
        await fs.symlink(node.target!, abs);
        await this.applyMeta(abs, node);
      } else {
        while (this.running.size >= PARALLEL_FILES) await Promise.race(this.running);
        const job: Promise<void> = this.restoreFile(node, abs, rel)
          .catch((err: Error) => this.fail(rel, err))
          .finally(() => this.running.delete(job));
        this.running.add(job);
      }
    } catch (err) {
      this.fail(rel, err as Error);
    }
  }

  private async restoreFile(node: TreeNode, abs: string, rel: string): Promise<void> {
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

  private async applyMeta(abs: string, node: TreeNode): Promise<void> {
    if (isRoot) await fs.lchown(abs, node.uid, node.gid).catch(() => undefined);
    if (node.type !== 'symlink') await fs.chmod(abs, node.mode);
    const mtime = Number(BigInt(node.mtimeNs) / 1000n) / 1e6;
    await fs.lutimes(abs, mtime, mtime);
  }

  private report(path: string): void {
    const now = Date.now();
    if (!this.options.onProgress || now - this.lastReport < 250) return;
    this.lastReport = now;
    this.options.onProgress({ filesDone: this.result.files, bytesDone: this.result.bytes, currentPath: path });
  }
}

async function exists(path: string): Promise<boolean> {
  return fs.lstat(path).then(
    () => true,
    () => false,
  );
}
