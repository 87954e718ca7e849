import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { ExcludeMatcher } from './exclude.js';

export interface ScanTotals {
  files: number;
  bytes: number;
}

/** Counts what a backup will visit, so progress can show a percentage and an ETA. */
export async function scanSources(sources: readonly string[], excludes: ExcludeMatcher): Promise<ScanTotals> {
  const totals: ScanTotals = { files: 0, bytes: 0 };
  const visit = async (abs: string, rel: string): Promise<void> => {
    const st = await fs.lstat(abs).catch(() => null);
    if (!st) return;
    if (st.isFile()) {
      totals.files += 1;
      totals.bytes += st.size;
    } else if (st.isDirectory()) {
      const names = await fs.readdir(abs).catch(() => [] as string[]);
      for (const name of names) {
        const childRel = rel ? `${rel}/${name}` : name;
        if (!excludes.excludes(name, childRel, join(abs, name))) await visit(join(abs, name), childRel);
      }
    }
  };
  for (const s of sources) await visit(s, '');
  return totals;
}
