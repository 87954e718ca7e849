import { SinkiError } from '../errors.js';

export interface SnapshotSummary {
  files: number;
  /** Files a backup found with no parent entry, with one it had to read again, and kept as they were (absent in older snapshots). */
  filesNew?: number;
  filesChanged?: number;
  filesUnchanged?: number;
  dirs: number;
  bytes: number;
  newBytes: number;
  storedBytes: number;
  packsWritten: number;
  durationMs: number;
  errors: number;
}

export interface Snapshot {
  time: string;
  host: string;
  username: string;
  /** Absolute paths (or a remote) that were backed up; each is one entry of the root tree. */
  paths: string[];
  tags: string[];
  tree: string;
  parent?: string;
  summary?: SnapshotSummary;
  /** The epoch of the store when it was written (docs/STORE-FORMAT.md, "Generations"); absent before generations. */
  epoch?: number;
}

export interface StoredSnapshot extends Snapshot {
  id: string;
}

/** "2026-11-25T12:40:08.123Z" → "2026-11-25T12-40-08Z" (no colons: friendlier to shells and file sharing). */
export function snapshotDirName(time: string): string {
  return `${time.slice(0, 19).replace(/:/g, '-')}Z`;
}

export function encodeSnapshot(s: Snapshot): Buffer {
  return Buffer.from(JSON.stringify(s));
}

export function decodeSnapshot(buf: Buffer, what: string): Snapshot {
  let s: Snapshot;
  try {
    s = JSON.parse(buf.toString()) as Snapshot;
  } catch {
    throw new SinkiError('CORRUPT', `${what}: not a snapshot`);
  }
  if (typeof s !== 'object' || s === null || typeof s.time !== 'string' || typeof s.tree !== 'string' || !Array.isArray(s.paths) || !Array.isArray(s.tags))
    throw new SinkiError('CORRUPT', `${what}: not a snapshot`);
  return s;
}

/** "latest", or a unique prefix of a snapshot id. */
export function selectSnapshot(all: readonly StoredSnapshot[], ref: string): StoredSnapshot {
  if (all.length === 0) throw new SinkiError('NOT_FOUND', 'the store has no snapshots yet');
  if (ref === 'latest') return [...all].sort((a, b) => a.time.localeCompare(b.time)).at(-1)!;
  if (!/^[0-9a-f]{1,64}$/.test(ref)) throw new SinkiError('USAGE', `"${ref}" is not a snapshot id (hex prefix) or "latest"`);
  const matches = all.filter((s) => s.id.startsWith(ref));
  if (matches.length === 0) throw new SinkiError('NOT_FOUND', `no snapshot matches "${ref}"`);
  if (matches.length > 1) throw new SinkiError('USAGE', `"${ref}" matches ${matches.length} snapshots; give more characters`);
  return matches[0]!;
}
