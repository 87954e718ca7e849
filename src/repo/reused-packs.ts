import { SinkiError } from '../errors.js';
import type { Backend } from '../backend/backend.js';
import { listPacks } from './index-files.js';
import { packPath } from './layout.js';

/**
 * Packs holding blobs this process found already stored (dedup). Every one must still exist before a
 * snapshot names them: an index segment put back after a prune (or a pack deleted) would otherwise
 * make a snapshot point at nothing.
 */
export class ReusedPacks {
  private readonly ids = new Set<string>();

  add(packId: string): void {
    this.ids.add(packId);
  }

  /** One size query per pack, or one listing of packs/ when there are many. */
  async confirm(backend: Backend): Promise<void> {
    const wanted = [...this.ids];
    let missing: string | undefined;
    if (wanted.length <= 32) {
      for (const id of wanted) if ((await backend.size(packPath(id))) === null) missing ??= id;
    } else {
      const present = new Set(await listPacks(backend));
      missing = wanted.find((id) => !present.has(id));
    }
    if (missing) {
      throw new SinkiError(
        'CORRUPT',
        `pack ${missing} is missing, but the index names it for data this backup reuses; nothing was saved (run "sinki check", then "sinki repair index")`,
      );
    }
  }
}
