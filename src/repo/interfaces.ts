/*
 * What the layers above ask of a store, each a few methods wide. Repository has them all; a part of
 * the mount or of backup that takes one of these says what it uses, and a test can hand it less.
 */
import type { Backend } from '../backend/backend.js';
import type { BlobKind } from './pack-format.js';
import type { StoredSnapshot } from './snapshot.js';
import type { StoreConfig } from './store-config.js';
import type { Tree } from './tree.js';

/** Verified plaintext of a blob, or a CORRUPT error naming it (docs/DESIGN.md, invariant 3). */
export interface BlobLoader {
  loadBlob(id: string, expectedKind?: BlobKind): Promise<Buffer>;
}

/** Blobs in: ids, dedup, the write pipeline and the flush that makes it durable. */
export interface BlobSaver {
  blobId(plain: Buffer): string;
  hasBlob(id: string): boolean;
  queueBlob(kind: BlobKind, id: string, plain: Buffer, compress: boolean): Promise<boolean>;
  flush(options?: { now?: boolean }): Promise<string | null>;
}

/** What the mount's file writes need beyond BlobSaver: the chunk's SHA-256 with its id, deferring, stored sizes. */
export interface ChunkSaver extends BlobSaver {
  readonly config: Pick<StoreConfig, 'compression'>;
  blobIdAndSha256(plain: Buffer): { id: string; sha256: Buffer | null };
  queueBlobOrDefer(kind: BlobKind, id: string, plain: Buffer, compress: boolean): Promise<'exists' | 'queued' | 'deferred'>;
  /** The sealed length of a stored blob, undefined when the index does not know it. */
  storedLength(id: string): number | undefined;
  /** The plaintext length of a blob in a written pack; undefined when it is in none. */
  storedPlainLength(id: string): number | undefined;
  /** Accepted by the writer but in no written pack yet. */
  isQueued(id: string): boolean;
}

/** What the mount's recompression when idle needs: raw blobs compressed, queued ones told apart, room on the disk. */
export interface Recompressing {
  readonly backend: Pick<Backend, 'freeBytes'>;
  recompressBlob(id: string): Promise<boolean>;
  /** Accepted by the writer but in no written pack yet. */
  isQueued(id: string): boolean;
}

export interface TreeLoader {
  loadTree(id: string): Promise<Tree>;
}

export interface TreeSaver {
  saveTree(tree: Tree): Promise<string>;
}

/** Whether a blob is in a written pack or queued for one (the mount's commit on a full disk asks it of trees). */
export interface BlobHolder {
  holdsBlob(id: string): boolean;
}

export interface SnapshotLister {
  listSnapshots(): Promise<StoredSnapshot[]>;
}
