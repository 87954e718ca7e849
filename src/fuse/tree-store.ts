import type { BlobHolder, TreeLoader, TreeSaver } from '../repo/interfaces.js';
import type { TreeNode } from '../repo/tree.js';
import type { FileIo } from './file-io.js';
import type { InodeTable } from './inodes.js';
import { ReaderTurns } from './reader-turns.js';
import { DirEntries, type DirNode, nodeFromTree } from './nodes.js';

/** save lets readers in after this many entries of a folder (a few ms). */
const READER_TURN_ENTRIES = 1024;

/** Loads directory children from stored trees on first use, and writes changed directories back. */
export class TreeStore {
  /**
   * Folders being loaded: getattr, readdir and read run beside each other (not under the mutex), and
   * two loads of one folder would claim its entries' inode numbers twice.
   */
  private readonly loading = new Map<DirNode, Promise<DirEntries>>();

  constructor(
    private readonly repo: TreeLoader & TreeSaver & BlobHolder,
    private readonly io: FileIo,
    /** The mount's inode numbers: loaded nodes claim theirs here, the filesystem its new ones. */
    readonly inodes: InodeTable,
  ) {}

  children(dir: DirNode): Promise<DirEntries> {
    if (dir.children) return Promise.resolve(dir.children);
    let load = this.loading.get(dir);
    if (!load) {
      load = this.load(dir).finally(() => this.loading.delete(dir));
      this.loading.set(dir, load);
    }
    return load;
  }

  private async load(dir: DirNode): Promise<DirEntries> {
    if (dir.loader) {
      const made = await dir.loader();
      dir.children ??= made;
      return dir.children;
    }
    const map = new DirEntries();
    if (dir.subtree) {
      for (const n of (await this.repo.loadTree(dir.subtree)).nodes) {
        const node = nodeFromTree(n, dir.readOnly, dir.ino, this.inodes);
        if (node.type === 'file') this.io.restoreHoles(node);
        map.set(n.name, node);
      }
    }
    dir.children ??= map;
    return dir.children;
  }

  /**
   * Tree id of a directory, saving every changed directory below it (file data must be sealed first).
   * One `turns` for the whole commit: many small folders let readers in as one big folder does.
   * `storedOnly`: a commit on a full disk, of what is stored (FileIo.storedChunks); a folder whose
   * tree was in a pack that could not be written is saved again.
   */
  async save(dir: DirNode, changed: Set<DirNode>, turns = new ReaderTurns(READER_TURN_ENTRIES), storedOnly = false): Promise<string> {
    if (dir.subtree && !changed.has(dir) && this.repo.holdsBlob(dir.subtree)) return dir.subtree;
    const nodes: TreeNode[] = [];
    for (const [name, node] of await this.children(dir)) {
      await turns.step();
      if (isUnlinkedOpenFile(name)) continue;
      const base = {
        name,
        mode: node.meta.mode,
        uid: node.meta.uid,
        gid: node.meta.gid,
        mtimeNs: node.meta.mtimeNs.toString(),
        ctimeNs: node.meta.ctimeNs.toString(),
      };
      if (node.type === 'dir') nodes.push({ ...base, type: 'dir', size: 0, subtree: await this.save(node, changed, turns, storedOnly) });
      else if (node.type === 'symlink') nodes.push({ ...base, type: 'symlink', size: 0, target: node.target });
      else
        nodes.push({
          ...base,
          type: 'file',
          size: node.size,
          chunks: await this.io.storedChunks(node, storedOnly),
          ...(node.sha256 ? { sha256: node.sha256 } : {}),
        });
    }
    dir.subtree = await this.repo.saveTree({ nodes });
    changed.delete(dir);
    return dir.subtree;
  }
}

/**
 * libfuse 2 keeps a file that is unlinked while still open under a hidden name until its last
 * close (fuse-native cannot serve such files by handle alone, so hard_remove stays off). The file is
 * deleted: commits and snapshots leave it out.
 */
function isUnlinkedOpenFile(name: string): boolean {
  return /^\.fuse_hidden[0-9a-f]{16}$/.test(name);
}
