import { createHash } from 'node:crypto';
import { promises as fs, type BigIntStats } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { SinkiError } from '../errors.js';
import { compressBlob, compressFile } from '../codec/policy.js';
import type { Repository } from '../repo/repository.js';
import { BlobKind } from '../repo/pack-format.js';
import { findNode, type Tree, type TreeNode } from '../repo/tree.js';
import type { Snapshot, StoredSnapshot } from '../repo/snapshot.js';
import { CdcChunker } from './fastcdc.js';
import { ExcludeMatcher } from './exclude.js';
import { scanSources, type ScanTotals } from './scanner.js';

export interface BackupProgress {
  filesDone: number;
  bytesDone: number;
  newBytes: number;
  storedBytes: number;
  totals: ScanTotals | null;
  currentPath: string;
}

export interface BackupOptions {
  paths: string[];
  tags?: string[];
  excludes?: string[];
  parent?: StoredSnapshot | null;
  /** Recorded instead of the local paths (e.g. the remote a source was pulled from). */
  recordedPaths?: string[];
  /** Names of the sources in the snapshot's root (default: their base names). */
  sourceNames?: string[];
  /** Sources freshly copied in (backup --from): inode and ctime are new every time, so size and mtime decide reuse. */
  reuseBySizeAndMtime?: boolean;
  onWarning?: (path: string, message: string) => void;
  onProgress?: (p: BackupProgress) => void;
}

export interface BackupResult {
  id: string;
  snapshot: Snapshot;
  warnings: number;
}

const READ_SIZE = 1024 * 1024;

/** Picks the parent for incremental reuse: the newest snapshot of the same host and paths. */
export function findParent(snapshots: readonly StoredSnapshot[], host: string, paths: readonly string[]): StoredSnapshot | null {
  const key = [...paths].sort().join('\0');
  const same = snapshots.filter((s) => s.host === host && [...s.paths].sort().join('\0') === key);
  return same.sort((a, b) => a.time.localeCompare(b.time)).at(-1) ?? null;
}

export async function backup(repo: Repository, options: BackupOptions): Promise<BackupResult> {
  return new Archiver(repo, options).run();
}

class Archiver {
  private readonly excludes: ExcludeMatcher;
  private readonly progress: BackupProgress = { filesDone: 0, bytesDone: 0, newBytes: 0, storedBytes: 0, totals: null, currentPath: '' };
  private warnings = 0;
  private dirs = 0;
  private readonly started = Date.now();
  private lastReport = 0;

  constructor(
    private readonly repo: Repository,
    private readonly options: BackupOptions,
  ) {
    this.excludes = new ExcludeMatcher(options.excludes ?? []);
  }

  async run(): Promise<BackupResult> {
    const sources = this.options.paths.map((p) => resolve(p));
    const names = this.options.sourceNames ?? sources.map((p) => basename(p) || 'root');
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup) throw new SinkiError('USAGE', `two sources share the name "${dup}"; back them up separately`);
    for (const s of sources) {
      try {
        await fs.lstat(s);
      } catch {
        throw new SinkiError('USAGE', `source ${s} does not exist or cannot be read`);
      }
    }
    void scanSources(sources, this.excludes).then((t) => (this.progress.totals = t)).catch(() => undefined);

    const parentRoot = this.options.parent ? await this.repo.loadTree(this.options.parent.tree) : null;
    const nodes: TreeNode[] = [];
    for (const [i, source] of sources.entries()) {
      const node = await this.saveEntry(source, names[i]!, '', parentRoot ? findNode(parentRoot, names[i]!) : undefined);
      if (node) nodes.push(node);
    }
    const tree = await this.repo.saveTree({ nodes });
    await this.repo.flush();
    const before = this.repo.stats;
    const snapshot: Snapshot = {
      time: new Date().toISOString(),
      host: hostname(),
      username: userInfo().username,
      paths: this.options.recordedPaths ?? sources,
      tags: this.options.tags ?? [],
      tree,
      ...(this.options.parent ? { parent: this.options.parent.id } : {}),
      summary: {
        files: this.progress.filesDone,
        dirs: this.dirs,
        bytes: this.progress.bytesDone,
        newBytes: before.plainBytesWritten,
        storedBytes: before.packBytesWritten,
        packsWritten: before.packsWritten,
        durationMs: Date.now() - this.started,
        errors: this.warnings,
      },
    };
    const id = await this.repo.saveSnapshot(snapshot);
    await this.repo.writeSums();
    this.report(true);
    return { id, snapshot, warnings: this.warnings };
  }

  private warn(path: string, message: string): void {
    this.warnings += 1;
    this.options.onWarning?.(path, message);
  }

  private report(force = false): void {
    const now = Date.now();
    if (!this.options.onProgress || (!force && now - this.lastReport < 250)) return;
    this.lastReport = now;
    this.progress.newBytes = this.repo.stats.plainBytesWritten;
    this.progress.storedBytes = this.repo.stats.packBytesWritten;
    this.options.onProgress(this.progress);
  }

  private async saveEntry(abs: string, name: string, rel: string, previous: TreeNode | undefined): Promise<TreeNode | null> {
    let st: BigIntStats;
    try {
      st = await fs.lstat(abs, { bigint: true });
    } catch (err) {
      this.warn(abs, `cannot stat: ${(err as Error).message}`);
      return null;
    }
    const base = {
      name,
      mode: Number(st.mode & 0o7777n),
      uid: Number(st.uid),
      gid: Number(st.gid),
      mtimeNs: st.mtimeNs.toString(),
      ctimeNs: st.ctimeNs.toString(),
    };
    if (st.isDirectory()) {
      const subtree = await this.saveDir(abs, rel, previous?.type === 'dir' ? previous.subtree : undefined);
      if (subtree === null) return null;
      this.dirs += 1;
      return { ...base, type: 'dir', size: 0, subtree };
    }
    if (st.isSymbolicLink()) {
      try {
        return { ...base, type: 'symlink', size: 0, target: await fs.readlink(abs) };
      } catch (err) {
        this.warn(abs, `cannot read link: ${(err as Error).message}`);
        return null;
      }
    }
    if (st.isFile()) return this.saveFile(abs, name, st, base, previous);
    this.warn(abs, 'skipped: special file (device, fifo or socket)');
    return null;
  }

  private async saveDir(abs: string, rel: string, previousTreeId: string | undefined): Promise<string | null> {
    let names: string[];
    try {
      names = (await fs.readdir(abs)).sort();
    } catch (err) {
      this.warn(abs, `cannot read directory: ${(err as Error).message}`);
      return null;
    }
    let previous: Tree | null = null;
    if (previousTreeId) previous = await this.repo.loadTree(previousTreeId).catch(() => null);
    const nodes: TreeNode[] = [];
    for (const name of names) {
      const childRel = rel ? `${rel}/${name}` : name;
      const childAbs = join(abs, name);
      if (this.excludes.excludes(name, childRel, childAbs)) continue;
      const node = await this.saveEntry(childAbs, name, childRel, previous ? findNode(previous, name) : undefined);
      if (node) nodes.push(node);
    }
    return this.repo.saveTree({ nodes });
  }

  private unchanged(st: BigIntStats, previous: TreeNode | undefined): previous is TreeNode & { chunks: Array<[string, number]> } {
    return (
      previous?.type === 'file' &&
      previous.chunks !== undefined &&
      previous.size === Number(st.size) &&
      previous.mtimeNs === st.mtimeNs.toString() &&
      (this.options.reuseBySizeAndMtime || (previous.ctimeNs === st.ctimeNs.toString() && previous.inode === Number(st.ino))) &&
      previous.chunks.every(([id]) => this.repo.hasBlob(id))
    );
  }

  private async saveFile(abs: string, name: string, st: BigIntStats, base: Omit<TreeNode, 'type' | 'size'>, previous: TreeNode | undefined): Promise<TreeNode | null> {
    this.progress.currentPath = abs;
    if (this.unchanged(st, previous)) {
      this.progress.filesDone += 1;
      this.progress.bytesDone += previous.size;
      this.report();
      return { ...base, type: 'file', size: previous.size, inode: Number(st.ino), chunks: previous.chunks, ...(previous.sha256 ? { sha256: previous.sha256 } : {}) };
    }
    const wantsCompression = compressFile(name, this.repo.config.compression);
    const chunker = new CdcChunker(this.repo.config.cdc);
    const sha = createHash('sha256');
    const chunks: Array<[string, number]> = [];
    let size = 0;
    const store = async (chunk: Buffer): Promise<void> => {
      const id = this.repo.blobId(chunk);
      chunks.push([id, chunk.length]);
      await this.repo.queueBlob(BlobKind.Data, id, chunk, compressBlob(chunk.length, wantsCompression, this.repo.config.compression));
    };
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(abs, 'r');
    } catch (err) {
      this.warn(abs, `cannot read: ${(err as Error).message}`);
      return null;
    }
    try {
      for (;;) {
        const buf = Buffer.allocUnsafe(READ_SIZE);
        const { bytesRead } = await handle.read(buf, 0, READ_SIZE, null);
        if (bytesRead === 0) break;
        const data = buf.subarray(0, bytesRead);
        sha.update(data);
        size += bytesRead;
        this.progress.bytesDone += bytesRead;
        for (const chunk of chunker.push(data)) await store(chunk);
        this.report();
      }
      const last = chunker.finish();
      if (last) await store(last);
    } catch (err) {
      if (err instanceof SinkiError) throw err;
      this.warn(abs, `read failed: ${(err as Error).message}`);
      return null;
    } finally {
      await handle.close();
    }
    this.progress.filesDone += 1;
    this.report();
    return { ...base, type: 'file', size, inode: Number(st.ino), chunks, sha256: sha.digest('hex') };
  }
}
