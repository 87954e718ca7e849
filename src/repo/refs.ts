import { hostname, userInfo } from 'node:os';
import { SinkiError, isSinkiError } from '../errors.js';
import { HEAD_REF } from './layout.js';
import { treeTotals, type TreeTotals } from './tree-walk.js';
import type { Repository } from './repository.js';
import { FileKind, openFile, sealFile } from './sealed-file.js';

/** refs/head: the live tree of the read-write mount, replaced atomically on every commit. */
export interface HeadRef {
  tree: string;
  time: string;
  /** One more on every write: an older refs/head put back has a lower one (see generation.ts). Absent before generations. */
  seq?: number;
}

export async function readHead(repo: Repository): Promise<HeadRef | null> {
  let bytes: Buffer;
  try {
    bytes = await repo.backend.read(HEAD_REF);
  } catch (err) {
    if (isSinkiError(err, 'NOT_FOUND')) return null;
    throw err;
  }
  return decodeHead(openFile(repo.keys, FileKind.Ref, bytes, HEAD_REF, 'head'));
}

/** The opened payload of refs/head; anything but {tree, time} strings is CORRUPT. */
export function decodeHead(payload: Buffer): HeadRef {
  let head: unknown;
  try {
    head = JSON.parse(payload.toString());
  } catch {
    throw new SinkiError('CORRUPT', `${HEAD_REF}: damaged (not a ref)`);
  }
  const h = head as Partial<HeadRef> | null;
  if (typeof h !== 'object' || h === null || typeof h.tree !== 'string' || !/^[0-9a-f]{64}$/.test(h.tree) || typeof h.time !== 'string') {
    throw new SinkiError('CORRUPT', `${HEAD_REF}: damaged (not a ref)`);
  }
  const seq = Number.isSafeInteger(h.seq) && h.seq! >= 0 ? { seq: h.seq! } : {};
  return { tree: h.tree, time: h.time, ...seq };
}

/** Replaces refs/head; its sequence number is one above the one it replaces. */
export async function writeHead(repo: Repository, head: Omit<HeadRef, 'seq'>): Promise<void> {
  let seq = 0;
  try {
    seq = (await readHead(repo))?.seq ?? 0;
  } catch (err) {
    if (!isSinkiError(err, 'CORRUPT')) throw err;
  }
  const payload = { tree: head.tree, time: head.time, seq: seq + 1 };
  await repo.backend.write(HEAD_REF, sealFile(repo.keys, FileKind.Ref, Buffer.from(JSON.stringify(payload)), 'head'));
}

/** Source path recorded for snapshots of the live tree (mount snapshots). */
export const LIVE_TREE_SOURCE = 'sinki-mount:/';

/** Turns a live tree into a snapshot record (parent: the previous snapshot of the live tree). */
export async function snapshotLiveTree(repo: Repository, tree: string, tags: string[], totalsMemo?: Map<string, TreeTotals>): Promise<string> {
  const previous = (await repo.listSnapshots()).filter((s) => s.paths.length === 1 && s.paths[0] === LIVE_TREE_SOURCE).at(-1);
  // What the snapshot holds, as `sinki snapshots` shows it; what was new and stored is a backup's to count.
  const totals = await treeTotals(repo, tree, totalsMemo);
  const id = await repo.saveSnapshot({
    time: new Date().toISOString(),
    host: hostname(),
    username: userInfo().username,
    paths: [LIVE_TREE_SOURCE],
    tags,
    tree,
    ...(previous ? { parent: previous.id } : {}),
    summary: { ...totals, newBytes: 0, storedBytes: 0, packsWritten: 0, durationMs: 0, errors: 0 },
  });
  await repo.commitState();
  return id;
}
