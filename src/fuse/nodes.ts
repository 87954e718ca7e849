import type { TreeNode } from '../repo/tree.js';
import { chunkStarts } from './offsets.js';

export interface Meta {
  mode: number;
  uid: number;
  gid: number;
  mtimeMs: number;
  ctimeMs: number;
}

export class DirNode {
  readonly type = 'dir';
  /** null until first listed; then the authority (subtree is stale once children change). */
  children: Map<string, FsNode> | null = null;
  constructor(
    public meta: Meta,
    public subtree: string | null,
    readonly readOnly: boolean,
  ) {}
}

export class FileNode {
  readonly type = 'file';
  /** (blob id or null for a hole of zeros, plaintext length) per chunk. */
  chunks: Array<[string | null, number]>;
  /** Dirty fixed-size chunks by index; full chunkSize buffers, zero beyond the file's end. */
  readonly dirty = new Map<number, Buffer>();
  /** Offsets of variable-size chunks (files made by `sinki backup`), for reads. */
  private starts: number[] | null = null;
  /** Set once the chunk list is known to follow the fixed split size (the writable layout). */
  fixedLayout = false;
  constructor(
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

  /** Called whenever the chunk list changes. */
  changed(): void {
    this.starts = null;
    this.sha256 = undefined;
  }
}

export class LinkNode {
  readonly type = 'symlink';
  constructor(
    public meta: Meta,
    public target: string,
  ) {}
}

export type FsNode = DirNode | FileNode | LinkNode;

const nsToMs = (ns: string | undefined): number => (ns ? Number(BigInt(ns) / 1000n) / 1000 : Date.now());
export const msToNs = (ms: number): string => (BigInt(Math.round(ms * 1000)) * 1000n).toString();

export function nodeFromTree(n: TreeNode, readOnly: boolean): FsNode {
  const meta: Meta = { mode: n.mode, uid: n.uid, gid: n.gid, mtimeMs: nsToMs(n.mtimeNs), ctimeMs: nsToMs(n.ctimeNs ?? n.mtimeNs) };
  if (n.type === 'dir') return new DirNode(meta, n.subtree ?? null, readOnly);
  if (n.type === 'symlink') return new LinkNode(meta, n.target ?? '');
  return new FileNode(meta, n.size, (n.chunks ?? []).map(([id, len]) => [id, len]), n.name, readOnly, n.sha256);
}
