import { promises as fs } from 'node:fs';
import { resolve } from 'node:path';
import type { Server } from 'node:net';
import { isSinkiError, SinkiError } from '../errors.js';
import type { Repository } from '../repo/repository.js';
import { tidySessionOutput } from '../repo/session-tidy.js';
import { readHead, snapshotLiveTree, writeHead } from '../repo/refs.js';
import type { TreeTotals } from '../repo/tree-walk.js';
import { ChunkCache } from './chunk-cache.js';
import { mountpointSocketPath, sendControl, serveControl, storeSocketPath, type ControlRequest } from './control.js';
import { FileIo } from './file-io.js';
import { InodeTable } from './inodes.js';
import { SinkiFilesystem } from './filesystem.js';
import { mountFuse, type MountedFs, type MountOptions } from './fuse-adapter.js';
import { Mutex } from './mutex.js';
import { DirEntries, DirNode, nowNs } from './nodes.js';
import type { CompressionBacklog } from './backlog.js';
import { Recompressor } from './recompressor.js';
import { SpaceKeeper, type RoundLimits, type RoundReport } from './space-keeper.js';
import { SnapshotsDir } from './snapshots-dir.js';
import { VersionsDir } from './versions-dir.js';
import { TreeStore } from './tree-store.js';
import { fusermount } from '../sys/fusermount.js';
import { fuseMountedAt } from '../sys/mounts.js';

export interface MountConfig {
  mountpoint: string;
  /** Mount one snapshot (read-only) instead of the live tree. */
  snapshot?: string;
  readOnly: boolean;
  writeBuffer: number;
  cacheSize: number;
  /** Commit this long after the last change (also on release and fsync). */
  quietMs: number;
  snapshotEveryMs?: number;
  snapshotOnUnmount: boolean;
  bigWrites: boolean;
  /** Use native-deps' patched fuse-native when it is built (false: the shipped one, for diagnosis). */
  patchedFuseNative: boolean;
  /** Store chunks raw when writes outrun the compressor, recompress them when writes pause. */
  deferCompression: boolean;
  /** Runs one commit's writes under one check of the mount's lock (StoreLock.asOneCommit). */
  asOneCommit?: <T>(fn: () => Promise<T>) => Promise<T>;
  /** Takes the store exclusively beside the mount's own lock (throws LOCKED if others hold it). */
  lockExclusively?: () => Promise<{ release(): Promise<void> }>;
  /** The private folder of the control sockets (see control.ts). */
  controlDir: string;
  /** Chunks left uncompressed by earlier mounts, and where this one leaves its own. */
  backlog?: CompressionBacklog;
  /** Append a line per FUSE operation here (fuse-adapter's trace). */
  traceFile?: string;
  /** The requests the store was asked so far, for `status` (read amplification, remote calls). */
  storeRequests?: () => unknown;
  log: (line: string) => void;
}

const MAX_COMMIT_DELAY_MS = 10_000;
/**
 * At unmount, live chunks are copied out of packs that hold superseded copies only up to this many
 * bytes: unmount stays quick, and what is left is freed by the next tidy or prune.
 */
const UNMOUNT_MOVE_BUDGET = 64 * 2 ** 20;
/** Freeing space while mounted, and once more at unmount. */
const ROUND_LIMITS: RoundLimits = { moveBudget: 128 * 2 ** 20 };
const UNMOUNT_LIMITS: RoundLimits = { moveBudget: UNMOUNT_MOVE_BUDGET };
const MOUNT_WATCH_MS = 1000;
/** While another process holds the store, rounds (and writes waiting for them) are tried again this often. */
const LOCKED_RETRY_MS = 1000;
/** Deferred compression stores chunks raw for a while: only with this much room to spare. */
const MIN_FREE_FOR_DEFERRING = 2 * 2 ** 30;

/** A dead mount ("Transport endpoint is not connected") is cleared; a live one is an error. */
export async function prepareMountpoint(mountpoint: string, log: (l: string) => void): Promise<void> {
  try {
    const st = await fs.stat(mountpoint);
    if (!st.isDirectory()) throw new SinkiError('USAGE', `mountpoint ${mountpoint} is not a directory`);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTCONN') {
      log(`found a stale mount at ${mountpoint} (its process died); clearing it`);
      await fusermount(['-uz'], mountpoint);
      return;
    }
    if (code === 'ENOENT') throw new SinkiError('USAGE', `mountpoint ${mountpoint} does not exist`);
    throw err;
  }
  if (await fuseMountedAt(mountpoint)) throw new SinkiError('USAGE', `something is already mounted at ${mountpoint}`);
  // libfuse 2 refuses a non-empty folder with only "fuse failed"; say what is wrong instead.
  if ((await fs.readdir(mountpoint)).length > 0) throw new SinkiError('USAGE', `mountpoint ${mountpoint} is not empty`);
  try {
    await fs.access('/dev/fuse');
  } catch {
    throw new SinkiError('NO_FUSE', '/dev/fuse is missing: load the fuse module (modprobe fuse) or give the container the device');
  }
}

export class MountSession {
  private readonly mutex = new Mutex();
  private headTree: string | null = null;
  private lastSnapshotTree: string | null = null;
  private dirty = false;
  private firstDirtyAt = 0;
  private quietTimer: NodeJS.Timeout | null = null;
  private snapshotTimer: NodeJS.Timeout | null = null;
  private watchTimer: NodeJS.Timeout | null = null;
  private fuse: MountedFs | null = null;
  private control: Server | null = null;
  private stopping: Promise<void> | null = null;
  private resolveDone!: () => void;
  readonly done = new Promise<void>((r) => (this.resolveDone = r));
  private fs!: SinkiFilesystem;
  private io!: FileIo;
  private trees!: TreeStore;
  private snapshots: SnapshotsDir | null = null;
  private recompressor: Recompressor | null = null;
  private keeper: SpaceKeeper | null = null;
  /** Sizes of folder trees summed for earlier snapshots: the next one walks only what changed. */
  private readonly treeTotals = new Map<string, TreeTotals>();
  private freeing: Promise<void> | null = null;
  /** Rounds are not tried before this time: another process held the store at the last try. */
  private lockedUntil = 0;
  /** Set while the last commit, on a full disk, left new data in memory (commitStored). */
  private unstored: SinkiError | null = null;

  private constructor(
    private readonly repo: Repository,
    private readonly cfg: MountConfig,
  ) {}

  static async start(repo: Repository, cfg: MountConfig): Promise<MountSession> {
    const session = new MountSession(repo, { ...cfg, mountpoint: resolve(cfg.mountpoint) });
    await session.begin();
    return session;
  }

  private get readOnly(): boolean {
    return this.cfg.readOnly || this.cfg.snapshot !== undefined || !this.repo.backend.writable;
  }

  private async begin(): Promise<void> {
    const { repo, cfg } = this;
    await prepareMountpoint(cfg.mountpoint, cfg.log);
    const other = this.readOnly ? null : await sendControl(storeSocketPath(cfg.controlDir, repo.config.id), { op: 'status' }, 5000);
    if (other) {
      const holder = other.ok ? (other.result as { mountpoint?: string; pid?: number }) : {};
      throw new SinkiError(
        'LOCKED',
        `this store is already mounted read-write${holder.mountpoint ? ` at ${holder.mountpoint}` : ''} by pid ${holder.pid ?? '?'} on this host; mount it --read-only, or unmount the other`,
      );
    }
    const cache = new ChunkCache(repo, cfg.cacheSize);
    if (!this.readOnly && cfg.deferCompression) {
      this.recompressor = new Recompressor(repo, {
        // After the quiet-period commit has written the last raw chunks.
        idleMs: Math.max(2000, cfg.quietMs + 1000),
        flush: async () => {
          await this.mutex.run(() => repo.flush());
        },
        log: cfg.log,
        minFreeBytes: MIN_FREE_FOR_DEFERRING,
      });
      await this.recompressor.checkRoom();
      for (const id of (await cfg.backlog?.load()) ?? []) if (repo.isStoredRaw(id)) this.recompressor.add(id);
      if (this.recompressor.waiting > 0)
        cfg.log(`${this.recompressor.waiting} chunks left uncompressed by an earlier mount are compressed while this one is idle`);
    }
    if (!this.readOnly) this.keeper = new SpaceKeeper(repo);
    this.io = new FileIo(repo, cache, repo.config.chunkSize, cfg.writeBuffer, this.recompressor, (id) => this.keeper?.superseded(id));
    const inodes = new InodeTable();
    this.trees = new TreeStore(repo, this.io, inodes);
    const now = nowNs();
    const rootMeta = { mode: 0o755, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, mtimeNs: now, ctimeNs: now };
    let root: DirNode;
    if (cfg.snapshot !== undefined) {
      const snap = await repo.findSnapshot(cfg.snapshot);
      const ns = BigInt(Date.parse(snap.time)) * 1_000_000n;
      root = new DirNode({ ...rootMeta, mode: 0o555, mtimeNs: ns, ctimeNs: ns }, snap.tree, true, inodes.root);
    } else {
      const head = await readHead(repo);
      this.headTree = head?.tree ?? null;
      root = new DirNode(rootMeta, this.headTree, this.readOnly, inodes.root);
      if (!head) root.children = new DirEntries();
      this.snapshots = new SnapshotsDir(repo, inodes);
      const latest = (await repo.listSnapshots()).at(-1);
      this.lastSnapshotTree = latest?.tree ?? null;
    }
    this.fs = new SinkiFilesystem(
      root,
      this.trees,
      this.io,
      this.snapshots,
      this.mutex,
      {
        storePath: repo.backend.location,
        storeIsLocal: repo.backend.writable,
        changed: () => this.markDirty(),
        released: (bytes) => this.keeper?.released(bytes),
        roomToWrite: () => this.roomToWrite(),
        commitNow: async () => {
          await this.commit();
        },
      },
      new VersionsDir(repo, inodes),
    );
    this.fuse = await mountFuse(cfg.mountpoint, this.fs, {
      readOnly: this.readOnly,
      bigWrites: cfg.bigWrites,
      patchedFuseNative: cfg.patchedFuseNative,
      onError: (op, path, err) => cfg.log(`${op} ${path}: ${(err as Error).message}`),
      trace: cfg.traceFile === undefined ? undefined : await openTrace(cfg.traceFile),
    });
    if (this.fuse.fuseNative !== 'patched') {
      const why =
        this.fuse.fuseNative === 'stale-patch' ? 'built from an older patch' : cfg.patchedFuseNative ? 'not built' : 'not used (--no-patched-fuse-native)';
      cfg.log(
        `the patched fuse-native is ${why}: mtimes set by cp -a, rsync -a and touch -d are lost, and times are whole milliseconds (native-deps/build-fuse-native-patched.sh)`,
      );
    }
    // Once a second: is there still room to store chunks raw, and is the mount still there?
    // `fusermount -u` or a file manager's eject ends the FUSE loop without telling JavaScript: notice
    // that the mount is gone and stop as `sinki umount` would (commit, snapshot, exit).
    this.watchTimer = setInterval(() => {
      void this.recompressor?.checkRoom();
      void fuseMountedAt(cfg.mountpoint).then((mounted) => {
        if (mounted || this.stopping) return;
        cfg.log(`${cfg.mountpoint} was unmounted from outside; committing and exiting`);
        void this.stop();
      });
    }, MOUNT_WATCH_MS);
    const sockets = [mountpointSocketPath(cfg.controlDir, cfg.mountpoint)];
    if (!this.readOnly) sockets.push(storeSocketPath(cfg.controlDir, repo.config.id));
    this.control = await serveControl(sockets, (req) => this.onControl(req));
    if (cfg.snapshotEveryMs && !this.readOnly) {
      this.snapshotTimer = setInterval(
        () => void this.snapshot(['auto']).catch((err: Error) => cfg.log(`automatic snapshot failed: ${err.message}`)),
        cfg.snapshotEveryMs,
      );
    }
  }

  private async onControl(req: ControlRequest): Promise<unknown> {
    if (req.op === 'snapshot') return { id: await this.snapshot(req.tags) };
    if (req.op === 'commit') return { tree: await this.commit() };
    if (req.op === 'unmount') {
      setImmediate(() => void this.stop());
      await this.done;
      return { unmounted: true };
    }
    return {
      mountpoint: this.cfg.mountpoint,
      readOnly: this.readOnly,
      pid: process.pid,
      writeSizes: Object.fromEntries(this.fs.writeSizes),
      reads: { ...this.fs.reads },
      store: this.cfg.storeRequests?.() ?? null,
    };
  }

  /**
   * The mount is gone: leave what is still uncompressed to the backlog (unmount must not wait for
   * the compressor), then, if no one else uses the store, free the raw copies of chunks compressed
   * meanwhile and merge this session's small packs and per-commit index segments.
   */
  private async finishWriting(): Promise<void> {
    const recompressor = this.recompressor;
    if (recompressor) {
      await recompressor.stop();
      const left = recompressor.queued.filter((id) => this.repo.isStoredRaw(id));
      // Only a hint: a cache folder that cannot be written costs space (chunks stay raw), never the unmount.
      await this.cfg.backlog?.save(left).catch((err: Error) => this.cfg.log(`could not note the chunks left uncompressed: ${err.message}`));
      if (left.length > 0) this.cfg.log(`${left.length} chunks stay uncompressed until the next mount is idle or "sinki compact" (correct, only larger)`);
    }
    // Commits stored chunks still being compressed raw; their compressed copies land here.
    await this.mutex.run(() => this.repo.flush());
    if (this.repo.newIndexSegments.size === 0 || !this.cfg.lockExclusively) return;
    let lock: { release(): Promise<void> };
    try {
      lock = await this.cfg.lockExclusively();
    } catch (err) {
      if (!isSinkiError(err, 'LOCKED')) throw err;
      if (recompressor?.recompressed) this.cfg.log('another process is using the store: the uncompressed copies stay until "sinki prune"');
      return;
    }
    try {
      const tidy = await this.oneCommit(async () => {
        // The round leaves SHA256SUMS and the generation to the tidy: written once, at the end.
        const round = this.keeper ? await this.keeper.round(this.headTree, { ...UNMOUNT_LIMITS, sealState: false }, this.fs.openChunkIds()) : null;
        if (round) this.logFreed(round);
        return tidySessionOutput(this.repo, { moveBudget: UNMOUNT_MOVE_BUDGET, sealState: (round?.packsDeleted ?? 0) > 0 });
      });
      if (tidy.bytesFreed > 0)
        this.cfg.log(`compressed ${recompressor?.recompressed ?? 0} chunks; freed ${(tidy.bytesFreed / 2 ** 20).toFixed(1)} MiB of uncompressed copies`);
      const merged = [tidy.packsDeleted > 1 ? `${tidy.packsDeleted} packs` : '', tidy.segmentsMerged > 1 ? `${tidy.segmentsMerged} index segments` : ''].filter(
        Boolean,
      );
      if (merged.length > 0) this.cfg.log(`merged this session's ${merged.join(' and ')}`);
    } finally {
      await lock.release();
    }
  }

  private markDirty(): void {
    if (this.readOnly) return;
    const now = Date.now();
    if (!this.dirty) this.firstDirtyAt = now;
    this.dirty = true;
    if (this.quietTimer) clearTimeout(this.quietTimer);
    const wait = Math.max(0, Math.min(this.cfg.quietMs, this.firstDirtyAt + MAX_COMMIT_DELAY_MS - now));
    this.quietTimer = setTimeout(() => {
      this.quietTimer = null;
      void this.commit().catch((err: Error) => this.cfg.log(`commit failed: ${err.message}`));
    }, wait);
  }

  /** Seals dirty data, writes changed trees, flushes packs and index, moves refs/head. Returns the live tree id. */
  async commit(): Promise<string | null> {
    try {
      return await this.mutex.run(async () => {
        const tree = await this.commitHeld();
        // Committed on a full disk, without some new data: a caller that asked for durability hears of it.
        if (this.unstored) throw this.unstored;
        return tree;
      });
    } finally {
      if (this.keeper?.due(this.io.replacingBytes) && !this.stopping) void this.startFreeing();
    }
  }

  /**
   * Before each write: a round starts as soon as one is due, and the write waits for it when the
   * store would otherwise grow past its bound (space-keeper.ts): the store cannot outgrow what the
   * rounds free, whatever the write rate. The mount's packs stay small while the store is.
   */
  private async roomToWrite(): Promise<void> {
    const keeper = this.keeper;
    if (!keeper || this.stopping || Date.now() < this.lockedUntil) return;
    this.repo.setPackTarget(keeper.packTarget(this.repo.config.chunkSize, this.repo.config.packSize));
    const pending = this.io.replacingBytes;
    if (keeper.mustWait(pending)) await this.startFreeing();
    else if (keeper.due(pending)) void this.startFreeing();
  }

  /** One round at a time; asked again meanwhile, the running one is the answer. */
  private startFreeing(): Promise<void> {
    this.freeing ??= this.freeSpace(ROUND_LIMITS).finally(() => (this.freeing = null));
    return this.freeing;
  }

  /** Runs `fn` as one commit towards the lock (asked once, not before each file written). */
  private oneCommit<T>(fn: () => Promise<T>): Promise<T> {
    return this.cfg.asOneCommit ? this.cfg.asOneCommit(fn) : fn();
  }

  /** commit() for a caller that holds the mutex. */
  private async commitHeld(): Promise<string | null> {
    if (!this.dirty || this.readOnly) return this.headTree;
    return this.oneCommit(() => this.commitChanges());
  }

  private async commitChanges(): Promise<string | null> {
    this.dirty = false;
    // A commit that fails leaves every folder it was to save marked (save() unmarks as it goes).
    const changed = [...this.fs.changed];
    try {
      await this.io.sealAll();
      const tree = await this.trees.save(this.fs.root, this.fs.changed);
      await this.repo.flush({ now: true });
      await this.moveHead(tree);
      this.io.committed();
      this.unstored = null;
      return tree;
    } catch (err) {
      this.dirty = true;
      for (const dir of changed) this.fs.changed.add(dir);
      if (!isSinkiError(err, 'NO_SPACE')) throw err;
      return this.commitStored(err);
    }
  }

  private async moveHead(tree: string): Promise<void> {
    if (tree === this.headTree) return;
    await writeHead(this.repo, { tree, time: new Date().toISOString() });
    this.headTree = tree;
    await this.repo.commitGeneration();
  }

  /**
   * A pack could not be written: the store's disk is full. The chunks sealed since the last commit
   * that are in no written pack go back to dirty buffers, the packs that failed are forgotten, and
   * what is stored is committed: deletes, renames and files whose data is stored take effect (the
   * next round frees what they dropped); a file whose new bytes could not be stored keeps its stored
   * version in this commit, and its new bytes in memory for a later commit (the mount stays dirty).
   * Nothing committed is lost; a commit with room for its data supersedes this one.
   */
  private async commitStored(cause: SinkiError): Promise<string | null> {
    const back = await this.io.unsealUnstored(() => this.repo.dropUnwrittenPacks());
    this.cfg.log(`${cause.message}: committing what is stored (deletes included); ${back} chunks of new data wait in memory until there is room`);
    // A copy of the changed folders: the next full commit must save them again, with the new data.
    const tree = await this.trees.save(this.fs.root, new Set(this.fs.changed), undefined, true);
    // Waits for xz: stored raw, the zeros standing in for data not stored would need room they do not take.
    await this.repo.flush();
    await this.moveHead(tree);
    this.unstored = cause;
    return tree;
  }

  /**
   * Frees what nothing uses any more (SpaceKeeper), when no other process uses the store: with the
   * store held exclusively, writes held off and the live tree just committed.
   */
  private async freeSpace(limits: RoundLimits): Promise<void> {
    const keeper = this.keeper;
    if (!keeper || !this.cfg.lockExclusively) return;
    await new Promise((r) => setImmediate(r)); // after the commit that asked for it has answered
    try {
      let lock: { release(): Promise<void> };
      try {
        lock = await this.cfg.lockExclusively();
      } catch (err) {
        if (isSinkiError(err, 'LOCKED')) {
          // Another process uses the store: try again in a while, and let writes go on meanwhile.
          this.lockedUntil = Date.now() + LOCKED_RETRY_MS;
          return;
        }
        throw err;
      }
      try {
        await keeper.learnSnapshots();
        const round = (): Promise<RoundReport> =>
          this.mutex.run(() => this.oneCommit(async () => keeper.round(await this.commitHeld(), limits, this.fs.openChunkIds())));
        this.logFreed(this.recompressor ? await this.recompressor.hold(round) : await round());
      } finally {
        await lock.release();
      }
    } catch (err) {
      this.cfg.log(`freeing unused space failed (nothing is lost; prune frees it): ${(err as Error).message}`);
    }
  }

  private logFreed(report: RoundReport): void {
    if (report.bytesFreed === 0) return;
    const mib = (n: number): string => (n / 2 ** 20).toFixed(1);
    this.cfg.log(
      `freed ${mib(report.bytesFreed)} MiB no longer used (${report.packsDeleted} packs; ${mib(report.bytesMoved)} MiB moved, ${report.ms} ms); the store's data is now ${mib(report.bytesBefore - report.bytesFreed)} MiB`,
    );
  }

  async snapshot(tags: string[]): Promise<string> {
    if (this.readOnly) throw new SinkiError('USAGE', 'this mount is read-only; there is nothing new to snapshot');
    this.dirty ||= this.headTree === null;
    const tree = await this.commit();
    if (!tree) throw new SinkiError('FATAL', 'no live tree to snapshot');
    const id = await this.oneCommit(() => snapshotLiveTree(this.repo, tree, tags, this.treeTotals));
    this.lastSnapshotTree = tree;
    this.snapshots?.invalidate();
    return id;
  }

  /** Commit, snapshot if enabled and changed, unmount, finish compressing. A second call skips the compressing. */
  stop(): Promise<void> {
    if (this.stopping) {
      this.recompressor?.cancel();
      return this.stopping;
    }
    this.stopping = (async () => {
      if (this.quietTimer) clearTimeout(this.quietTimer);
      if (this.snapshotTimer) clearInterval(this.snapshotTimer);
      if (this.watchTimer) clearInterval(this.watchTimer);
      try {
        if (!this.readOnly) {
          const tree = await this.commit();
          if (this.cfg.snapshotOnUnmount && tree && tree !== this.lastSnapshotTree) {
            const id = await this.snapshot([]);
            this.cfg.log(`snapshot ${id.slice(0, 12)} taken at unmount`);
          }
        }
      } catch (err) {
        this.cfg.log(`could not commit before unmounting: ${(err as Error).message}`);
      }
      if (this.fs.writeSizes.size > 0) {
        const sizes = [...this.fs.writeSizes].sort((a, b) => a[0] - b[0]).map(([size, n]) => `${size >= 1024 ? `${size / 1024}K` : size}×${n}`);
        this.cfg.log(`write calls by size: ${sizes.join(' ')}`);
      }
      // unmount() has run `fusermount -uz` already when it fails: running it again would not help.
      await this.fuse?.unmount().catch((err: Error) => this.cfg.log(`unmounting ${this.cfg.mountpoint} failed: ${err.message}`));
      await this.freeing;
      if (!this.readOnly) await this.finishWriting().catch((err: Error) => this.cfg.log(`could not finish compressing and merging: ${err.message}`));
      this.control?.close();
      this.resolveDone();
    })();
    return this.stopping;
  }
}

/** One line per operation: start (ms since the mount), duration (ms), operation, result, path. */
async function openTrace(file: string): Promise<NonNullable<MountOptions['trace']>> {
  const handle = await fs.open(file, 'a').catch((err: NodeJS.ErrnoException) => {
    throw new SinkiError('USAGE', `--trace-ops ${file}: ${err.code === 'ENOENT' ? 'its folder does not exist' : err.message}`);
  });
  const stream = handle.createWriteStream();
  const t0 = performance.now();
  return (op, path, code, started) => {
    stream.write(`${(started - t0).toFixed(3)} ${(performance.now() - started).toFixed(3)} ${op} ${code} ${JSON.stringify(path)}\n`);
  };
}
