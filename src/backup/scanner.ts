import { lstatSync, readdirSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import type { ExcludeMatcher } from './exclude.js';

export interface ScanTotals {
  files: number;
  bytes: number;
}

/** Entries looked at per turn of the event loop, so the count runs beside the backup instead of before it. */
const ENTRIES_PER_TURN = 256;

/**
 * Counts what a backup will visit, so progress can show a percentage and an ETA. Synchronous calls
 * (cheap from the page cache, see source-file.ts) in small batches; only files are stat'ed (for their size).
 */
export async function scanSources(sources: readonly string[], excludes: ExcludeMatcher): Promise<ScanTotals> {
  const totals: ScanTotals = { files: 0, bytes: 0 };
  let budget = ENTRIES_PER_TURN;
  const step = async (): Promise<void> => {
    if (--budget > 0) return;
    budget = ENTRIES_PER_TURN;
    await new Promise((resolve) => setImmediate(resolve));
  };
  const addFile = (abs: string): void => {
    try {
      const st = lstatSync(abs);
      if (!st.isFile()) return;
      totals.files += 1;
      totals.bytes += st.size;
    } catch {
      // gone or unreadable: the backup itself will say so
    }
  };
  const visitDir = async (abs: string, rel: string): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = readdirSync(abs, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      await step();
      const childRel = rel ? `${rel}/${e.name}` : e.name;
      const childAbs = join(abs, e.name);
      if (excludes.excludes(e.name, childRel, childAbs)) continue;
      if (e.isDirectory()) await visitDir(childAbs, childRel);
      else if (e.isFile()) addFile(childAbs);
    }
  };
  for (const s of sources) {
    let isDir = false;
    try {
      isDir = lstatSync(s).isDirectory();
    } catch {
      continue;
    }
    if (isDir) await visitDir(s, '');
    else addFile(s);
  }
  return totals;
}
