import type { BlobLoader, TreeLoader, TreeSaver } from './interfaces.js';
import { BlobKind } from './pack-format.js';
import type { Subkeys } from './subkeys.js';
import { decodeTree, encodeTree, type Tree } from './tree.js';

/**
 * Binary trees (format 2) smaller than this are stored raw: xz takes next to nothing off them, and
 * every re-run would pay an xz decode for each; larger trees do shrink (figures: docs/BENCHMARKS.md,
 * "Measurements behind design choices").
 */
const BINARY_TREE_COMPRESS_MIN = 1024;

/** Folders stored as blobs of kind Tree, in the encoding of the store's format. */
export class TreeBlobs implements TreeLoader, TreeSaver {
  constructor(
    private readonly keys: Subkeys,
    private readonly format: number,
    private readonly blobs: BlobLoader,
    private readonly saveBlob: (kind: BlobKind, plain: Buffer, compress: boolean) => Promise<string>,
  ) {}

  /** Format 2: how a one-chunk file's SHA-256 names its chunk (binary trees store the hash alone). */
  private get idOfSha256(): ((sha256: Buffer) => string) | undefined {
    return this.keys.idsOfHashes ? (sha256) => this.keys.blobIdOfSha256(sha256) : undefined;
  }

  async saveTree(tree: Tree): Promise<string> {
    const plain = encodeTree(tree, this.idOfSha256);
    return this.saveBlob(BlobKind.Tree, plain, this.format < 2 || plain.length >= BINARY_TREE_COMPRESS_MIN);
  }

  async loadTree(id: string): Promise<Tree> {
    return decodeTree(await this.blobs.loadBlob(id, BlobKind.Tree), `tree ${id.slice(0, 16)}`, this.idOfSha256);
  }
}
