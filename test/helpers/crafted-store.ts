import { createHash } from 'node:crypto';
import { BlobKind } from '../../src/repo/pack-format.js';
import type { Repository } from '../../src/repo/repository.js';
import { encodeBinaryTree } from '../../src/repo/tree-binary.js';
import type { TreeNode } from '../../src/repo/tree.js';
import { initRepo } from './store.js';

const TIME = '1000000000000000000';
/** Owner of every crafted entry: a restore as root that chowned through a link would show it. */
const OWNER = 4321;

/**
 * A store whose trees are written as given: in the given order, with any names, encoded by the
 * store format's real encoder but without the checks and sorting of Repository.saveTree. For tests
 * of what restore and check do with a hostile store (one whose key holder is not to be trusted).
 */
export class CraftedStore {
  private constructor(readonly repo: Repository) {}

  /** A new store at `path` (format 2 unless told), opened with `password`. */
  static async create(path: string, password: string, format?: number): Promise<CraftedStore> {
    return new CraftedStore(await initRepo(path, password, format));
  }

  async file(name: string, content: string | Buffer, mode = 0o644): Promise<TreeNode> {
    const data = Buffer.from(content);
    const id = await this.repo.saveBlob(BlobKind.Data, data, false);
    const sha256 = createHash('sha256').update(data).digest('hex');
    return { name, type: 'file', mode, uid: OWNER, gid: OWNER, mtimeNs: TIME, size: data.length, chunks: [[id, data.length]], sha256 };
  }

  async dir(name: string, nodes: readonly TreeNode[], mode = 0o755): Promise<TreeNode> {
    return { name, type: 'dir', mode, uid: OWNER, gid: OWNER, mtimeNs: TIME, size: 0, subtree: await this.rawTree(nodes) };
  }

  link(name: string, target: string): TreeNode {
    return { name, type: 'symlink', mode: 0o777, uid: OWNER, gid: OWNER, mtimeNs: TIME, size: 0, target };
  }

  /** A tree blob holding exactly `nodes`, in this order; its id. */
  async rawTree(nodes: readonly TreeNode[]): Promise<string> {
    const keys = this.repo.keys;
    const plain = keys.idsOfHashes ? encodeBinaryTree(nodes, (sha) => keys.blobIdOfSha256(sha)) : Buffer.from(JSON.stringify({ nodes }));
    return this.repo.saveBlob(BlobKind.Tree, plain, false);
  }

  /** A snapshot whose root tree holds exactly `nodes`, written to disk with everything it needs: its id and its root tree's. */
  async snapshot(nodes: readonly TreeNode[]): Promise<{ id: string; tree: string }> {
    const tree = await this.rawTree(nodes);
    await this.repo.flush();
    const id = await this.repo.saveSnapshot({ time: new Date().toISOString(), host: 'crafted', username: 'crafted', paths: ['/crafted'], tags: [], tree });
    await this.repo.writeSums();
    return { id, tree };
  }

  close(): Promise<void> {
    return this.repo.backend.close();
  }
}
