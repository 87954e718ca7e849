import { createHash } from 'node:crypto';
import { promises as fs, type BigIntStats, type Dirent } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { SinkiError } from '../errors.js';
import { compressBlob, compressFile, type CompressionPolicy } from '../codec/policy.js';
import type { BlobSaver } from '../repo/interfaces.js';
import type { Repository } from '../repo/repository.js';
import type { StoreConfig } from '../repo/store-config.js';
import { BlobKind } from '../repo/pack-format.js';
import { compareNames, findNode, isSafeName, sameNodes, type Tree, type TreeNode } from '../repo/tree.js';
import { Slots } from '../codec/slots.js';
import type { Snapshot, StoredSnapshot } from '../repo/snapshot.js';
import { CdcChunker, chunkWhole, gearFromBytes, PUBLIC_GEAR } from './fastcdc.js';
import { ExcludeMatcher } from './exclude.js';
import { scanSources, type ScanTotals } from './scanner.js';
import { closeFd, lstatBig, openRead, readAt, readDirents, readLink, readSmallFile, SourceReadError } from './source-file.js';

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
/**
 * Files read, hashed and queued at once. Small files are bound by round trips (lstat, open, read,
 * close), not by the CPU, so several run side by side; each holds at most READ_SIZE bytes.
 */
const FILE_SLOTS = 16;
/** Parent-snapshot trees of upcoming sub-directories loaded ahead, per directory being walked. */
const TREES_AHEAD = 8;
/** Files up to this size are read whole, with synchronous calls (see source-file.ts). */
const SMALL_FILE = 256 * 1024;
/** Of those, files read in READ_SIZE pieces through the chunker (each holds up to the CDC maximum chunk). */
const LARGE_FILE_SLOTS = 2;

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
  private filesNew = 0;
  private filesChanged = 0;
  private filesUnchanged = 0;
  private readonly progress: BackupProgress = { filesDone: 0, bytesDone: 0, newBytes: 0, storedBytes: 0, totals: null, currentPath: '' };
  private warnings = 0;
  private dirs = 0;
  private readonly started = Date.now();
  private lastReport = 0;
  private readonly fileSlots = new Slots(FILE_SLOTS);
  private readonly largeSlots = new Slots(LARGE_FILE_SLOTS);
  /** Parent trees being loaded ahead of the walk (at most TREES_AHEAD per directory on the current path). */
  private readonly treesAhead = new Map<string, Promise<Tree | null>>();
  /** The store's gear table: keyed in format 3 stores, the public one before (fastcdc.ts). */
  private readonly gear: Int32Array;

  constructor(
    private readonly repo: Repository,
    private readonly options: BackupOptions,
  ) {
    this.excludes = new ExcludeMatcher(options.excludes ?? []);
    const gearBytes = repo.keys.gearBytes();
    this.gear = gearBytes ? gearFromBytes(gearBytes) : PUBLIC_GEAR;
  }

  async run(): Promise<BackupResult> {
    const sources = this.options.paths.map((p) => resolve(p));
    const names = this.options.sourceNames ?? sources.map((p) => basename(p) || 'root');
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup) throw new SinkiError('USAGE', `two sources share the name "${dup}"; back them up separately`);
    const unsafe = names.find((n) => !isSafeName(n));
    if (unsafe !== undefined) throw new SinkiError('USAGE', `a source cannot be named ${JSON.stringify(unsafe)} in the snapshot`);
    for (const s of sources) {
      try {
        await fs.lstat(s);
      } catch {
        throw new SinkiError('USAGE', `source ${s} does not exist or cannot be read`);
      }
    }
    // Totals for the ETA: a re-run takes its parent's (a close estimate, and no second walk of every file).
    const last = this.options.parent?.summary;
    if (last) this.progress.totals = { files: last.files, bytes: last.bytes };
    else if (this.options.onProgress)
      void scanSources(sources, this.excludes)
        .then((t) => (this.progress.totals = t))
        .catch(() => undefined);

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
        filesNew: this.filesNew,
        filesChanged: this.filesChanged,
        filesUnchanged: this.filesUnchanged,
        dirs: this.dirs,
        bytes: this.progress.bytesDone,
        newBytes: before.plainBytesWritten,
        storedBytes: before.packBytesWritten,
        packsWritten: before.packsWritten,
        durationMs: Date.now() - this.started,
        errors: this.warnings,
      },
    };
    await this.repo.confirmReusedPacks();
    const id = await this.repo.saveSnapshot(snapshot);
    await this.repo.commitState();
    this.report(true);
    return { id, snapshot, warnings: this.warnings };
  }

  private warn(path: string, message: string): void {
    this.warnings += 1;
    this.options.onWarning?.(path, message);
  }

  /** The rule for errors: one reading a source is a warning (the entry is left out), any other (the store's) ends the backup. */
  private warnOrThrow(err: unknown, path: string, what: string): void {
    if (!(err instanceof SourceReadError)) throw err;
    this.warn(path, `${what}: ${err.message}`);
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
      st = lstatBig(abs);
    } catch (err) {
      this.warnOrThrow(err, abs, 'cannot stat');
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
        return { ...base, type: 'symlink', size: 0, target: readLink(abs) };
      } catch (err) {
        this.warnOrThrow(err, abs, 'cannot read link');
        return null;
      }
    }
    if (st.isFile()) return this.saveFile(abs, name, st, base, previous);
    this.warn(abs, 'skipped: special file (device, fifo or socket)');
    return null;
  }

  /**
   * A directory's entries in name order. Sub-directories are walked one after another; files and
   * links are handed to the shared file slots and run meanwhile, so many small files are read,
   * hashed and queued at once while this walk goes deeper.
   */
  private async saveDir(abs: string, rel: string, previousTreeId: string | undefined): Promise<string | null> {
    const relOf = (name: string): string => (rel ? `${rel}/${name}` : name);
    // Only the Dirents are kept for the whole folder: paths are made as each entry's turn comes (a
    // folder of a million files would otherwise hold two more strings and an object per file).
    let entries: Dirent[];
    try {
      entries = this.uniqueNames(
        abs,
        readDirents(abs).sort((a, b) => compareNames(a.name, b.name)),
      ).filter((e) => !this.excludes.excludes(e.name, relOf(e.name), join(abs, e.name)));
    } catch (err) {
      this.warnOrThrow(err, abs, 'cannot read directory');
      return null;
    }
    const previous = previousTreeId ? await this.parentTree(previousTreeId) : null;
    const previousOf = (name: string): TreeNode | undefined => (previous ? findNode(previous, name) : undefined);
    // The parent snapshot's trees of the sub-directories ahead are loaded while this walk is busy elsewhere.
    const ahead: string[] = [];
    for (const entry of entries) {
      const prev = entry.isDirectory() ? previousOf(entry.name) : undefined;
      if (prev?.type === 'dir' && prev.subtree) ahead.push(prev.subtree);
    }
    for (const id of ahead.slice(0, TREES_AHEAD)) this.prefetchTree(id);
    let dirsSeen = 0;
    // Each entry's node lands in its place; only the files still running are held as promises.
    const nodes: Array<TreeNode | null> = new Array<TreeNode | null>(entries.length).fill(null);
    const running = new Set<Promise<void>>();
    let failure: { err: unknown } | undefined;
    for (const [i, entry] of entries.entries()) {
      if (failure) break;
      const prev = previousOf(entry.name);
      if (entry.isDirectory()) {
        if (prev?.type === 'dir' && prev.subtree) {
          const next = ahead[dirsSeen + TREES_AHEAD];
          if (next) this.prefetchTree(next);
          dirsSeen += 1;
        }
        nodes[i] = await this.saveEntry(join(abs, entry.name), entry.name, relOf(entry.name), prev);
        continue;
      }
      await this.fileSlots.acquire();
      const task: Promise<void> = this.saveEntry(join(abs, entry.name), entry.name, relOf(entry.name), prev)
        .then(
          (node) => {
            nodes[i] = node;
          },
          (err: unknown) => {
            failure ??= { err };
          },
        )
        .finally(() => {
          this.fileSlots.release();
          running.delete(task);
        });
      running.add(task);
    }
    await Promise.all(running);
    if (failure) throw failure.err;
    const done = nodes.filter((n): n is TreeNode => n !== null);
    // Nothing changed here: the parent's tree is this one. Comparing costs far less than coding and hashing it.
    if (previous && previousTreeId && this.repo.hasBlob(previousTreeId) && sameNodes(previous.nodes, done)) return previousTreeId;
    return this.repo.saveTree({ nodes: done });
  }

  /**
   * Names as Node reads them are unique, but for two that are not valid UTF-8 and become the same
   * string (both read as U+FFFD): a tree holds one entry per name, so the second is left out, with a warning.
   */
  private uniqueNames(abs: string, sorted: Dirent[]): Dirent[] {
    return sorted.filter((entry, i) => {
      if (i === 0 || entry.name !== sorted[i - 1]!.name) return true;
      this.warn(join(abs, entry.name), 'skipped: its name is not valid UTF-8 and reads the same as another name in its folder');
      return false;
    });
  }

  /** A tree of the parent snapshot (null when it cannot be read: everything below is then read afresh). */
  private parentTree(id: string): Promise<Tree | null> {
    const early = this.treesAhead.get(id);
    this.treesAhead.delete(id);
    return early ?? this.repo.loadTree(id).catch(() => null);
  }

  private prefetchTree(id: string): void {
    if (!this.treesAhead.has(id))
      this.treesAhead.set(
        id,
        this.repo.loadTree(id).catch(() => null),
      );
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

  private async saveFile(
    abs: string,
    name: string,
    st: BigIntStats,
    base: Omit<TreeNode, 'type' | 'size'>,
    previous: TreeNode | undefined,
  ): Promise<TreeNode | null> {
    this.progress.currentPath = abs;
    if (this.unchanged(st, previous)) {
      this.filesUnchanged += 1;
      this.progress.filesDone += 1;
      this.progress.bytesDone += previous.size;
      this.report();
      return {
        ...base,
        type: 'file',
        size: previous.size,
        inode: Number(st.ino),
        chunks: previous.chunks,
        ...(previous.sha256 ? { sha256: previous.sha256 } : {}),
      };
    }
    const policy = this.repo.config.compression;
    const content = new FileContent(this.repo, policy, compressFile(name, policy), this.repo.config.cdc, this.gear);
    const expected = Number(st.size);
    if (expected <= SMALL_FILE) {
      let whole: Buffer | null;
      try {
        whole = readSmallFile(abs, expected);
      } catch (err) {
        this.warnOrThrow(err, abs, 'cannot read');
        return null;
      }
      if (whole) await content.addWhole(whole);
      else if (!(await this.readInPieces(abs, content))) return null;
    } else if (!(await this.readInPieces(abs, content))) return null;
    if (content.wholeFile) this.progress.bytesDone += content.size;
    if (previous?.type === 'file') this.filesChanged += 1;
    else this.filesNew += 1;
    this.progress.filesDone += 1;
    this.report();
    return { ...base, type: 'file', size: content.size, inode: Number(st.ino), chunks: content.chunks, sha256: content.sha256() };
  }

  /** A file read asynchronously, READ_SIZE at a time, through the chunker; false (and a warning) when it cannot be read. */
  private async readInPieces(abs: string, content: FileContent): Promise<boolean> {
    let fd: number;
    try {
      fd = await openRead(abs);
    } catch (err) {
      this.warnOrThrow(err, abs, 'cannot read');
      return false;
    }
    await this.largeSlots.acquire();
    try {
      const chunker = new CdcChunker(this.repo.config.cdc, this.gear);
      for (let position = 0; ; ) {
        const buf = Buffer.allocUnsafe(READ_SIZE);
        const n = await readAt(fd, buf, position);
        if (n === 0) break;
        position += n;
        await content.add(chunker.push(buf.subarray(0, n)), n);
        this.progress.bytesDone += n;
        this.report();
      }
      const last = chunker.finish();
      await content.add(last ? [last] : [], 0);
      return true;
    } catch (err) {
      this.warnOrThrow(err, abs, 'read failed');
      return false;
    } finally {
      this.largeSlots.release();
      await closeFd(fd).catch(() => undefined);
    }
  }
}

/** One file's chunk list and SHA-256 as its bytes arrive; every chunk is queued for the store. */
class FileContent {
  readonly chunks: Array<[string, number]> = [];
  size = 0;
  wholeFile = false;
  private readonly hash = createHash('sha256');

  constructor(
    private readonly blobs: BlobSaver,
    private readonly policy: CompressionPolicy,
    private readonly wantsCompression: boolean,
    private readonly cdc: StoreConfig['cdc'],
    private readonly gear: Int32Array,
  ) {}

  async addWhole(data: Buffer): Promise<void> {
    this.wholeFile = true;
    this.hash.update(data);
    this.size = data.length;
    for (const chunk of chunkWhole(data, this.cdc, this.gear)) await this.store(chunk);
  }

  /** `read` bytes were read from the file; `chunks` are those the chunker completed with them. */
  async add(chunks: Buffer[], read: number): Promise<void> {
    this.size += read;
    for (const chunk of chunks) {
      this.hash.update(chunk);
      await this.store(chunk);
    }
  }

  sha256(): string {
    return this.hash.digest('hex');
  }

  private async store(chunk: Buffer): Promise<void> {
    const id = this.blobs.blobId(chunk);
    this.chunks.push([id, chunk.length]);
    await this.blobs.queueBlob(BlobKind.Data, id, chunk, compressBlob(chunk.length, this.wantsCompression, this.policy));
  }
}
