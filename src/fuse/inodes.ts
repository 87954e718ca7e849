/**
 * Inode numbers that a path keeps from one mount to the next, as on a disk: git's index records
 * st_ino and treats a file whose number changed as modified (diff-files; status re-reads it).
 *
 * A node's number is a hash of its parent's number and its name, taken when the node is loaded or
 * made; it keeps that number for the life of the mount (a rename moves the node, not the number;
 * after a remount a renamed node gets the number of its new path). No two live nodes of one mount
 * share a number: on a collision the next free one is taken. 32 bits, as fuse-native passes them; 0
 * and libfuse's FUSE_UNKNOWN_INO (2^32-1) are never used.
 */
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a, 32 bits, of the parent's number and the name's UTF-8 bytes. */
export function inodeHash(parentIno: number, name: string): number {
  let h = FNV_OFFSET;
  for (const byte of Buffer.from(`${parentIno}/${name}`)) h = Math.imul(h ^ byte, FNV_PRIME) >>> 0;
  return h;
}

/** The numbers in use in one mounted filesystem (each mount has its own table). */
export class InodeTable {
  private readonly inUse = new Set<number>();
  /** The root folder's number. */
  readonly root: number;

  constructor() {
    this.root = this.claim(0, '');
  }

  /** The number of the entry `name` in the folder numbered `parentIno` (0 for the root). */
  claim(parentIno: number, name: string): number {
    let ino = inodeHash(parentIno, name);
    while (ino === 0 || ino === 0xffffffff || this.inUse.has(ino)) ino = (ino + 1) >>> 0;
    this.inUse.add(ino);
    return ino;
  }

  /** The node numbered `ino` left the tree (unlinked, removed, replaced by a rename): its path may have it again. */
  release(ino: number): void {
    this.inUse.delete(ino);
  }
}
