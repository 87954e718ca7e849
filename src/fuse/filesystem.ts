import { promises as fs, constants as fsConstants } from 'node:fs';
import { isSafeName } from '../repo/tree.js';
import { fsError, type Attr, type DirEntry, type FsOps, type StatFs } from './fuse-adapter.js';
import type { FileIo } from './file-io.js';
import type { Mutex } from './mutex.js';
import { DirEntries, DirNode, FileNode, LinkNode, nowNs, type FsNode, type Meta } from './nodes.js';
import { blocksFor } from './offsets.js';
import { fitStatfs } from './statfs-fit.js';
import type { SnapshotsDir } from './snapshots-dir.js';
import { VERSIONS_NAME, type VersionsDir } from './versions-dir.js';
import type { TreeStore } from './tree-store.js';

export const SNAPSHOTS_NAME = '.snapshots';
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const NAME_MAX = 255;
/** st_size of a folder, as ext4 shows a small one. */
const DIR_SIZE = 4096;

function typeBits(node: FsNode): number {
  return node.type === 'dir' ? S_IFDIR : node.type === 'symlink' ? S_IFLNK : S_IFREG;
}

export interface FilesystemHooks {
  /** Something changed: schedule a commit after a quiet period. */
  changed(): void;
  /** fsync: make everything durable now. */
  commitNow(): Promise<void>;
  /** File data dropped (deleted, truncated, renamed over): its space can be freed once committed. */
  released(bytes: number): void;
  /** Before a write: returns once the store has room for it (the mount may free space first). */
  roomToWrite(): Promise<void>;
  /** Where statfs reports free space. */
  storePath: string;
  storeIsLocal: boolean;
}

interface Resolved {
  node: FsNode;
  /** Directories from the root down to the parent (empty for the root itself). */
  ancestors: DirNode[];
  readOnly: boolean;
}

interface Handle {
  node: FileNode;
  path: string;
  /** Folders from the root to the file's parent when the handle last marked them changed. */
  marked: DirNode[] | null;
}

function splitPath(path: string): string[] {
  return path.split('/').filter(Boolean);
}

/** The mount's operations: the live tree at `/`, read-only snapshots under `/.snapshots`. */
export class SinkiFilesystem implements FsOps {
  /** Directories whose stored trees are out of date. */
  readonly changed = new Set<DirNode>();
  /** Write calls by size (rounded up to a power of two): shows whether big writes are in effect. */
  readonly writeSizes = new Map<number, number>();
  /** What clients read through the mount: calls and bytes returned. */
  readonly reads = { calls: 0, bytes: 0 };
  private readonly handles = new Map<number, Handle>();
  private nextFd = 1;
  private readonly snapshotsNode: DirNode;

  constructor(
    readonly root: DirNode,
    private readonly trees: TreeStore,
    private readonly io: FileIo,
    private readonly snapshots: SnapshotsDir | null,
    private readonly mutex: Mutex,
    private readonly hooks: FilesystemHooks,
    /** /.versions (every mount that can list snapshots has it). */
    private readonly versions: VersionsDir | null = null,
  ) {
    const now = nowNs();
    this.snapshotsNode = new DirNode(
      { mode: 0o555, uid: 0, gid: 0, mtimeNs: now, ctimeNs: now },
      null,
      true,
      this.trees.inodes.claim(root.ino, SNAPSHOTS_NAME),
    );
  }

  get openHandles(): number {
    return this.handles.size;
  }

  /** Chunks of files open right now: a file deleted while open is still read through its handle. */
  *openChunkIds(): Iterable<string> {
    for (const { node } of this.handles.values()) for (const [id] of node.chunks) if (id) yield id;
  }

  private async resolve(path: string): Promise<Resolved> {
    const parts = splitPath(path);
    let node: FsNode = this.root;
    let readOnly = this.root.readOnly;
    const ancestors: DirNode[] = [];
    let i = 0;
    if (this.versions && parts[0] === VERSIONS_NAME) {
      await this.versions.refresh();
      ancestors.push(this.root);
      node = this.versions.node;
      readOnly = true;
      i = 1;
    } else if (this.snapshots && parts[0] === SNAPSHOTS_NAME) {
      ancestors.push(this.root);
      node = this.snapshotsNode;
      readOnly = true;
      i = 1;
      if (parts.length > 1) {
        const snap = (await this.snapshots.entries()).get(parts[1]!);
        if (!snap) throw fsError('ENOENT');
        ancestors.push(this.snapshotsNode);
        node = snap;
        i = 2;
      }
    }
    for (; i < parts.length; i++) {
      if (node.type !== 'dir') throw fsError('ENOTDIR');
      // A loaded folder without an await: every operation resolves its path, through every level.
      const children: DirEntries = node.children ?? (await this.trees.children(node));
      const child: FsNode | undefined = children.get(parts[i]!);
      if (!child) throw fsError('ENOENT');
      ancestors.push(node);
      node = child;
    }
    return { node, ancestors, readOnly };
  }

  /** Parent directory and name for an entry that is to be created, removed or renamed. */
  private async resolveParent(path: string): Promise<{ dir: DirNode; name: string; ancestors: DirNode[] }> {
    const parts = splitPath(path);
    const name = parts.pop();
    if (!name) throw fsError('EBUSY');
    const parent = await this.resolve(`/${parts.join('/')}`);
    if (parent.readOnly || (parts.length === 0 && this.reservedAtRoot(name))) throw fsError('EROFS');
    if (parent.node.type !== 'dir') throw fsError('ENOTDIR');
    if (!isSafeName(name)) throw fsError('EINVAL');
    return { dir: parent.node, name, ancestors: [...parent.ancestors, parent.node] };
  }

  /**
   * resolveParent for a name about to be made. fuse-native decodes names (and symlink targets) as
   * UTF-8 and turns bytes that are not UTF-8 into U+FFFD, so two different names would land on one
   * entry: refuse them. Names longer than statfs promises (and other filesystems take) too.
   */
  private resolveNew(path: string): Promise<{ dir: DirNode; name: string; ancestors: DirNode[] }> {
    const name = splitPath(path).at(-1) ?? '';
    if (name.includes('\uFFFD')) throw fsError('EILSEQ');
    if (Buffer.byteLength(name) > NAME_MAX) throw fsError('ENAMETOOLONG');
    return this.resolveParent(path);
  }

  private touch(dirs: readonly DirNode[]): void {
    for (const d of dirs) this.changed.add(d);
    this.hooks.changed();
  }

  private newMeta(mode: number): Meta {
    const now = nowNs();
    return { mode: mode & 0o7777, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, mtimeNs: now, ctimeNs: now };
  }

  private writable(r: Resolved): Resolved {
    if (r.readOnly) throw fsError('EROFS');
    return r;
  }

  async getattr(path: string): Promise<Attr> {
    const { node } = await this.resolve(path);
    const m = node.meta;
    const size = node.type === 'file' ? node.size : node.type === 'symlink' ? Buffer.byteLength(node.target) : DIR_SIZE;
    const blocks = node.type === 'file' ? blocksFor(node.dataBytes()) : node.type === 'dir' ? blocksFor(DIR_SIZE) : 0;
    const nlink = node.type === 'dir' ? 2 + (this.loadedSubdirCount(node) ?? (await this.subdirCount(node))) : 1;
    return {
      ino: node.ino,
      mode: typeBits(node) | m.mode,
      uid: m.uid,
      gid: m.gid,
      size,
      blocks,
      nlink,
      atimeNs: m.mtimeNs,
      mtimeNs: m.mtimeNs,
      ctimeNs: m.ctimeNs,
    };
  }

  /** Each subfolder's ".." links to its parent: find and others rely on st_nlink = 2 + subfolders. */
  private async subdirCount(dir: DirNode): Promise<number> {
    if (dir === this.snapshotsNode) return (await this.snapshots!.entries()).size;
    await this.trees.children(dir);
    return this.loadedSubdirCount(dir)!;
  }

  /** subdirCount of a folder whose entries are loaded (null otherwise), without an await. */
  private loadedSubdirCount(dir: DirNode): number | null {
    if (!dir.children || dir === this.snapshotsNode) return null;
    if (dir !== this.root) return dir.children.subdirs;
    return dir.children.subdirs + (this.snapshots ? 1 : 0) + (this.versions ? 1 : 0);
  }

  /** Names at the root that the mount shows itself: nothing can be made there under them. */
  private reservedAtRoot(name: string): boolean {
    return (name === SNAPSHOTS_NAME && this.snapshots !== null) || (name === VERSIONS_NAME && this.versions !== null);
  }

  async readdir(path: string): Promise<DirEntry[]> {
    const { node, ancestors } = await this.resolve(path);
    if (node.type !== 'dir') throw fsError('ENOTDIR');
    const entry = (name: string, n: FsNode): DirEntry => ({ name, ino: n.ino, type: typeBits(n) });
    const out = [entry('.', node), entry('..', ancestors.at(-1) ?? node)];
    const children = node === this.snapshotsNode ? await this.snapshots!.entries() : await this.trees.children(node);
    for (const [name, child] of children) out.push(entry(name, child));
    // The root lists .snapshots too.
    if (node === this.root && this.snapshots) out.push(entry(SNAPSHOTS_NAME, this.snapshotsNode));
    if (node === this.root && this.versions) out.push(entry(VERSIONS_NAME, this.versions.node));
    return out;
  }

  async open(path: string, flags: number): Promise<number> {
    const r = await this.resolve(path);
    if (r.node.type === 'dir') throw fsError('EISDIR');
    if (r.node.type !== 'file') throw fsError('EINVAL');
    if ((flags & 3) !== fsConstants.O_RDONLY) this.writable(r);
    return this.addHandle(r.node, path);
  }

  private addHandle(node: FileNode, path: string): number {
    const fd = this.nextFd++;
    this.handles.set(fd, { node, path, marked: null });
    return fd;
  }

  private handle(fd: number): Handle {
    const h = this.handles.get(fd);
    if (!h) throw fsError('EBADF');
    return h;
  }

  create(path: string, mode: number): Promise<number> {
    return this.mutex.run(async () => {
      const { dir, name, ancestors } = await this.resolveNew(path);
      const children = await this.trees.children(dir);
      if (children.has(name)) throw fsError('EEXIST');
      const file = new FileNode(this.trees.inodes.claim(dir.ino, name), this.newMeta(mode), 0, [], name, false);
      children.set(name, file);
      dir.meta.mtimeNs = dir.meta.ctimeNs = nowNs();
      this.touch(ancestors);
      return this.addHandle(file, path);
    });
  }

  async read(_path: string, fd: number, buf: Buffer, len: number, pos: number): Promise<number> {
    const n = await this.io.read(this.handle(fd).node, buf, len, pos);
    this.reads.calls++;
    this.reads.bytes += n;
    return n;
  }

  async write(path: string, fd: number, buf: Buffer, len: number, pos: number): Promise<number> {
    const handle = this.handle(fd);
    const { node } = handle;
    if (node.readOnly) throw fsError('EROFS');
    const bucket = 2 ** Math.ceil(Math.log2(Math.max(1, len)));
    this.writeSizes.set(bucket, (this.writeSizes.get(bucket) ?? 0) + 1);
    await this.hooks.roomToWrite();
    return this.mutex.run(async () => {
      await this.io.write(node, buf.subarray(0, len), pos);
      node.meta.mtimeNs = node.meta.ctimeNs = nowNs();
      // Resolving the path on every 128 KiB write is the hot path's biggest cost after the copy: only
      // do it again once a commit has saved (and unmarked) the folders this handle marked.
      if (handle.marked?.every((d) => this.changed.has(d))) this.hooks.changed();
      else {
        const r = await this.resolve(path).catch(() => null);
        handle.marked = r?.node === node ? r.ancestors : null;
        if (handle.marked) this.touch(handle.marked);
        else this.hooks.changed();
      }
      return len;
    });
  }

  async fsync(): Promise<void> {
    await this.hooks.commitNow();
  }

  async release(_path: string, fd: number): Promise<void> {
    const h = this.handles.get(fd);
    if (!h) return;
    this.handles.delete(fd);
    if (!h.node.readOnly) this.hooks.changed();
  }

  truncate(path: string, size: number): Promise<void> {
    return this.mutex.run(async () => {
      const r = this.writable(await this.resolve(path));
      if (r.node.type === 'dir') throw fsError('EISDIR');
      if (r.node.type !== 'file') throw fsError('EINVAL');
      if (size < r.node.size) this.hooks.released(r.node.size - size);
      await this.io.resize(r.node, size);
      r.node.meta.mtimeNs = r.node.meta.ctimeNs = nowNs();
      this.touch(r.ancestors);
    });
  }

  unlink(path: string): Promise<void> {
    return this.mutex.run(async () => {
      const { dir, name, ancestors } = await this.resolveParent(path);
      const children = await this.trees.children(dir);
      const node = children.get(name);
      if (!node) throw fsError('ENOENT');
      if (node.type === 'dir') throw fsError('EISDIR');
      children.delete(name);
      if (node.type === 'file') this.hooks.released(node.size);
      this.trees.inodes.release(node.ino);
      dir.meta.mtimeNs = dir.meta.ctimeNs = nowNs();
      this.touch(ancestors);
    });
  }

  rename(src: string, dest: string): Promise<void> {
    return this.mutex.run(async () => {
      const from = await this.resolveParent(src);
      const to = await this.resolveNew(dest);
      const fromChildren = await this.trees.children(from.dir);
      const node = fromChildren.get(from.name);
      if (!node) throw fsError('ENOENT');
      if (node.type === 'dir' && (to.ancestors.includes(node) || to.dir === node)) throw fsError('EINVAL');
      const toChildren = await this.trees.children(to.dir);
      const existing = toChildren.get(to.name);
      if (existing === node) return;
      if (existing) {
        if (existing.type === 'dir') {
          if (node.type !== 'dir') throw fsError('EISDIR');
          if ((await this.trees.children(existing)).size > 0) throw fsError('ENOTEMPTY');
        } else if (node.type === 'dir') throw fsError('ENOTDIR');
        if (existing.type === 'file') this.hooks.released(existing.size);
      }
      fromChildren.delete(from.name);
      toChildren.set(to.name, node);
      if (existing) this.trees.inodes.release(existing.ino);
      if (node.type === 'file') node.name = to.name;
      const now = nowNs();
      from.dir.meta.mtimeNs = from.dir.meta.ctimeNs = now;
      to.dir.meta.mtimeNs = to.dir.meta.ctimeNs = now;
      node.meta.ctimeNs = now;
      this.touch([...from.ancestors, ...to.ancestors]);
    });
  }

  mkdir(path: string, mode: number): Promise<void> {
    return this.mutex.run(async () => {
      const { dir, name, ancestors } = await this.resolveNew(path);
      const children = await this.trees.children(dir);
      if (children.has(name)) throw fsError('EEXIST');
      const created = new DirNode(this.newMeta(mode), null, false, this.trees.inodes.claim(dir.ino, name));
      created.children = new DirEntries();
      children.set(name, created);
      dir.meta.mtimeNs = dir.meta.ctimeNs = nowNs();
      this.touch([...ancestors, created]);
    });
  }

  rmdir(path: string): Promise<void> {
    return this.mutex.run(async () => {
      const { dir, name, ancestors } = await this.resolveParent(path);
      const children = await this.trees.children(dir);
      const node = children.get(name);
      if (!node) throw fsError('ENOENT');
      if (node.type !== 'dir') throw fsError('ENOTDIR');
      if ((await this.trees.children(node)).size > 0) throw fsError('ENOTEMPTY');
      children.delete(name);
      this.trees.inodes.release(node.ino);
      this.changed.delete(node);
      dir.meta.mtimeNs = dir.meta.ctimeNs = nowNs();
      this.touch(ancestors);
    });
  }

  symlink(target: string, path: string): Promise<void> {
    return this.mutex.run(async () => {
      const { dir, name, ancestors } = await this.resolveNew(path);
      if (target.includes('\uFFFD')) throw fsError('EILSEQ');
      const children = await this.trees.children(dir);
      if (children.has(name)) throw fsError('EEXIST');
      children.set(name, new LinkNode(this.trees.inodes.claim(dir.ino, name), this.newMeta(0o777), target));
      dir.meta.mtimeNs = dir.meta.ctimeNs = nowNs();
      this.touch(ancestors);
    });
  }

  async readlink(path: string): Promise<string> {
    const { node } = await this.resolve(path);
    if (node.type !== 'symlink') throw fsError('EINVAL');
    return node.target;
  }

  /** Hard links are not supported: a tree entry has exactly one name (EPERM, as on FAT or SMB). */
  async link(): Promise<void> {
    throw fsError('EPERM');
  }

  private setMeta(path: string, change: (m: Meta) => void): Promise<void> {
    return this.mutex.run(async () => {
      const r = this.writable(await this.resolve(path));
      change(r.node.meta);
      r.node.meta.ctimeNs = nowNs();
      this.touch(r.node.type === 'dir' ? [...r.ancestors, r.node] : r.ancestors);
    });
  }

  chmod(path: string, mode: number): Promise<void> {
    return this.setMeta(path, (m) => (m.mode = mode & 0o7777));
  }

  chown(path: string, uid: number, gid: number): Promise<void> {
    return this.setMeta(path, (m) => {
      if (uid !== 0xffffffff && uid !== -1) m.uid = uid;
      if (gid !== 0xffffffff && gid !== -1) m.gid = gid;
    });
  }

  /** Trees keep the mtime only; atime is not stored. */
  utimens(path: string, _atimeNs: bigint | null, mtimeNs: bigint | null): Promise<void> {
    return this.setMeta(path, (m) => {
      if (mtimeNs !== null) m.mtimeNs = mtimeNs;
    });
  }

  async statfs(): Promise<StatFs> {
    // A remote store has no local file system to report: an empty one is what df can show.
    if (!this.hooks.storeIsLocal) return { bsize: 4096, frsize: 4096, blocks: 0, bfree: 0, bavail: 0, files: 0, ffree: 0, namemax: NAME_MAX };
    const s = await fs.statfs(this.hooks.storePath);
    return fitStatfs({
      bsize: s.bsize,
      frsize: s.bsize,
      blocks: s.blocks,
      bfree: s.bfree,
      bavail: s.bavail,
      files: s.files,
      ffree: s.ffree,
      namemax: NAME_MAX,
    });
  }

  async access(path: string, mode: number): Promise<void> {
    const r = await this.resolve(path);
    if (mode & fsConstants.W_OK && r.readOnly) throw fsError('EROFS');
  }
}
