import type { TreeNode } from '../repo/tree.js';
import type { InodeTable } from './inodes.js';
import { chunkStarts } from './offsets.js';

export interface Meta {
  mode: number;
  uid: number;
  gid: number;
  /** Nanoseconds since the epoch, as the trees keep them. */
  mtimeNs: bigint;
  ctimeNs: bigint;
}

export const nowNs = (): bigint => BigInt(Date.now()) * 1_000_000n;

/**
 * A folder's entries by name, counting its subfolders as they come and go: getattr reports
 * st_nlink = 2 + subfolders after every create in the folder, which must not cost a pass over it.
 */
export class DirEntries extends Map<string, FsNode> {
  private dirs = 0;

  get subdirs(): number {
    return this.dirs;
  }

  override set(name: string, node: FsNode): this {
    if (this.get(name)?.type === 'dir') this.dirs--;
    if (node.type === 'dir') this.dirs++;
    return super.set(name, node);
  }

  override delete(name: string): boolean {
    if (this.get(name)?.type === 'dir') this.dirs--;
    return super.delete(name);
  }

  override clear(): void {
    this.dirs = 0;
    super.clear();
  }
}

export class DirNode {
  readonly type = 'dir';
  /** null until first listed; then the authority (subtree is stale once children change). */
  children: DirEntries | null = null;
  /** A folder made of something else than one stored tree (/.versions): what lists it. */
  loader: (() => Promise<DirEntries>) | null = null;
  constructor(
    public meta: Meta,
    public subtree: string | null,
    readonly readOnly: boolean,
    /** From the mount's InodeTable. */
    readonly ino: number,
  ) {}
}

export class FileNode {
  readonly type = 'file';
  /** (blob id or null for a hole of zeros, plaintext length) per chunk. */
  chunks: Array<[string | null, number]>;
  /** Dirty fixed-size chunks by index: buffers up to chunkSize long, the chunk's bytes past a buffer's end are zeros. */
  readonly dirty = new Map<number, Buffer>();
  /** Offsets of variable-size chunks (files made by `sinki backup`), for reads. */
  private starts: number[] | null = null;
  /** Bytes of the chunks that are holes, dirty or not (null: not counted since the chunk list changed). */
  private holeBytes: number | null = null;
  /** Set once the chunk list is known to follow the fixed split size (the writable layout). */
  fixedLayout = false;
  constructor(
    readonly ino: number,
    public meta: Meta,
    public size: number,
    chunks: Array<[string | null, number]>,
    public name: string,
    readonly readOnly: boolean,
    public sha256?: string,
  ) {
    this.chunks = chunks;
  }

  chunkStarts(): number[] {
    this.starts ??= chunkStarts(this.chunks.map((c) => c[1]));
    return this.starts;
  }

  /** Bytes that hold data: the size less the holes (chunks never written, not dirty). getattr asks for it. */
  dataBytes(): number {
    this.holeBytes ??= this.chunks.reduce((n, [id, len]) => (id === null ? n + len : n), 0);
    let holes = this.holeBytes;
    for (const i of this.dirty.keys()) {
      const chunk = this.chunks[i];
      if (chunk && chunk[0] === null) holes -= chunk[1];
    }
    return Math.max(0, this.size - holes);
  }

  /** Called whenever the chunk list changes. */
  changed(): void {
    this.starts = null;
    this.holeBytes = null;
    this.sha256 = undefined;
  }

  /** Chunks of zeros found to be holes (at load): the chunk list changed, the content did not. */
  holesFound(): void {
    this.holeBytes = null;
  }
}

export class LinkNode {
  readonly type = 'symlink';
  constructor(
    readonly ino: number,
    public meta: Meta,
    public target: string,
  ) {}
}

export type FsNode = DirNode | FileNode | LinkNode;

const storedNs = (ns: string | undefined): bigint => (ns ? BigInt(ns) : nowNs());

/** A node loaded from an entry of the tree of the folder numbered `parentIno`. */
export function nodeFromTree(n: TreeNode, readOnly: boolean, parentIno: number, inodes: InodeTable): FsNode {
  const ino = inodes.claim(parentIno, n.name);
  const meta: Meta = { mode: n.mode, uid: n.uid, gid: n.gid, mtimeNs: storedNs(n.mtimeNs), ctimeNs: storedNs(n.ctimeNs ?? n.mtimeNs) };
  if (n.type === 'dir') return new DirNode(meta, n.subtree ?? null, readOnly, ino);
  if (n.type === 'symlink') return new LinkNode(ino, meta, n.target ?? '');
  return new FileNode(
    ino,
    meta,
    n.size,
    (n.chunks ?? []).map(([id, len]) => [id, len]),
    n.name,
    readOnly,
    n.sha256,
  );
}
