import { SinkiError, isSinkiError } from '../errors.js';
import { open as openSealed } from '../crypto/aead.js';
import { sha256Hex } from '../crypto/canonical.js';
import { decodeBlob } from '../codec/blob.js';
import { HEAD_REF, packPath } from './layout.js';
import { parsePackPrefix, PACK_PREFIX_LENGTH } from './pack-format.js';
import { readPackHeader } from './pack-reader.js';
import { readHead } from './refs.js';
import type { Repository } from './repository.js';
import type { Tree } from './tree.js';

export interface CheckOptions {
  readData: boolean;
  /** With readData: only the packs this selects (check --read-data-subset). */
  readPack?: (packId: string) => boolean;
  onProblem?: (message: string) => void;
  /** Not an error: e.g. packs no index names (left by an interrupted backup), garbage for prune. */
  onNote?: (message: string) => void;
  onPackChecked?: (done: number, total: number) => void;
}

export interface CheckReport {
  problems: string[];
  /** Packs on disk that no index names; they hold nothing a snapshot needs. */
  unreferencedPacks: string[];
  snapshots: number;
  packs: number;
  blobsChecked: number;
}

/**
 * Structure: every index segment, snapshot, tree, key file and refs/head opens, every referenced blob
 * (of snapshots and of the mount's live tree) is indexed and its pack exists. With readData: every
 * pack's SHA-256 equals its name and every blob opens and decompresses. Each problem names the
 * object and, where data is lost, the files it affects.
 */
export async function checkStore(repo: Repository, options: CheckOptions): Promise<CheckReport> {
  const problems: string[] = [];
  const problem = (m: string): void => {
    problems.push(m);
    options.onProblem?.(m);
  };
  await repo.loadIndex((name, err) => problem(`${name}: ${err.message.replace(`${name}: `, '')}`));
  const onDisk = new Set(await repo.listPacks());
  /** pack → reason; `allLost` when none of its blobs can be read (missing or unreadable pack). */
  const badPacks = new Map<string, { reason: string; allLost: boolean }>();
  for (const packId of repo.index.packIds()) {
    if (!onDisk.has(packId)) badPacks.set(packId, { reason: 'missing', allLost: true });
  }
  // An interrupted backup (crash, full disk) leaves packs no index names: garbage, not damage (docs/DESIGN.md, invariant 2).
  const unreferencedPacks = [...onDisk].filter((packId) => !repo.index.hasPack(packId));
  for (const packId of unreferencedPacks)
    options.onNote?.(`pack ${packId}: not in the index (unreferenced, e.g. left by an interrupted backup; prune removes it)`);
  const badBlobs = new Set<string>();
  let blobsChecked = 0;
  if (options.readData) {
    const ids = [...onDisk].filter((id) => repo.index.hasPack(id) && (options.readPack?.(id) ?? true));
    for (const [i, packId] of ids.entries()) {
      const bad = await checkPackData(repo, packId, badBlobs);
      blobsChecked += repo.index.packEntryCount(packId) ?? 0;
      if (bad) badPacks.set(packId, bad);
      options.onPackChecked?.(i + 1, ids.length);
    }
  }
  for (const [packId, { reason, allLost }] of badPacks) {
    // Otherwise checkPackData has already marked exactly the blobs that fail to open.
    if (allLost) for (const e of repo.index.packEntries(packId) ?? []) if (repo.index.readsFrom(packId, e)) badBlobs.add(e.id);
    problem(`pack ${packId}: ${reason}`);
  }
  const snapshots = await repo.listSnapshots((id, err) => problem(`snapshot ${id}: ${err.message.replace(`snapshot ${id}: `, '')}`));
  const seenTrees = new Map<string, boolean>();
  for (const snap of snapshots) await checkTrees(repo, `snapshot ${snap.id.slice(0, 12)}`, snap.tree, badBlobs, seenTrees, problem);
  const head = await readHead(repo).catch((err: unknown) => {
    if (!isSinkiError(err, 'CORRUPT')) throw err;
    problem(err.message.startsWith(`${HEAD_REF}: `) ? err.message : `${HEAD_REF}: ${err.message}`);
    return null;
  });
  if (head) await checkTrees(repo, `live tree (${HEAD_REF})`, head.tree, badBlobs, seenTrees, problem);
  // Another password's key file may be damaged while this one opens the store: say so before it is needed.
  for (const key of await repo.listKeys()) if (key.error) problem(key.error);
  return { problems, unreferencedPacks, snapshots: snapshots.length, packs: onDisk.size, blobsChecked };
}

async function checkPackData(repo: Repository, packId: string, badBlobs: Set<string>): Promise<{ reason: string; allLost: boolean } | null> {
  let bytes: Buffer;
  try {
    bytes = await repo.backend.read(packPath(packId));
  } catch (err) {
    return { reason: `unreadable (${(err as Error).message})`, allLost: true };
  }
  const damagedBlobs: string[] = [];
  const hashOk = sha256Hex(bytes) === packId;
  let headerOk = false;
  try {
    readPackHeader(repo.keys, bytes, packId);
    headerOk = true;
  } catch {
    // The header is damaged; the index still says where each blob is, so check blobs one by one below.
  }
  // The pack key comes from the prefix's salt, as in BlobReader.loadBlob: a damaged header (at the
  // end) does not make the blobs before it unreadable.
  let key: Buffer | null = null;
  try {
    key = repo.keys.packKey(parsePackPrefix(bytes.subarray(0, PACK_PREFIX_LENGTH), packId).salt);
  } catch {
    // bad magic or version: no blob of this pack can be opened
  }
  for (const e of repo.index.packEntries(packId) ?? []) {
    try {
      if (!key) throw new SinkiError('CORRUPT', 'pack prefix unreadable');
      const payload = openSealed(repo.keys.cipher, key, bytes.subarray(e.offset, e.offset + e.length), repo.keys.blobAad(e.kind, e.id), `blob ${e.id}`);
      const plain = await decodeBlob(payload, e.plainLength, repo.xz, `blob ${e.id}`);
      if (repo.blobId(plain) !== e.id) throw new SinkiError('CORRUPT', 'id mismatch');
    } catch (err) {
      if (!isSinkiError(err)) throw err;
      damagedBlobs.push(e.id);
      if (repo.index.readsFrom(packId, e)) badBlobs.add(e.id);
    }
  }
  if (hashOk && damagedBlobs.length === 0 && headerOk) return null;
  const parts: string[] = [];
  if (!hashOk) parts.push('content does not match its name (SHA-256)');
  if (!headerOk) parts.push('header damaged');
  if (damagedBlobs.length) parts.push(`${damagedBlobs.length} damaged blob(s)`);
  return { reason: parts.join(', '), allLost: false };
}

/** Every folder of one root (a snapshot, or the mount's live tree) opens, and no file lost a chunk. */
async function checkTrees(
  repo: Repository,
  label: string,
  root: string,
  badBlobs: Set<string>,
  seenTrees: Map<string, boolean>,
  problem: (m: string) => void,
): Promise<void> {
  const visit = async (treeId: string, path: string): Promise<void> => {
    if (seenTrees.get(treeId) === true) return;
    let tree: Tree;
    try {
      if (badBlobs.has(treeId)) throw new SinkiError('CORRUPT', 'its pack is damaged or missing');
      tree = await repo.loadTree(treeId);
    } catch (err) {
      problem(`${label}: folder /${path} cannot be read (${(err as Error).message}); everything below it is affected`);
      return;
    }
    seenTrees.set(treeId, true);
    for (const node of tree.nodes) {
      const p = path ? `${path}/${node.name}` : node.name;
      if (node.type === 'dir' && node.subtree) await visit(node.subtree, p);
      if (node.type !== 'file') continue;
      const lost = (node.chunks ?? []).filter(([id]) => badBlobs.has(id) || !repo.index.has(id));
      if (lost.length === 0) continue;
      const packs = [...new Set(lost.map(([id]) => repo.index.get(id)?.packId ?? 'no pack'))];
      problem(`${label}: file /${p} is damaged: ${lost.length} of ${node.chunks!.length} chunk(s) lost (pack ${packs.join(', ')})`);
    }
  };
  await visit(root, '');
}
