import { SinkiError, isSinkiError } from '../errors.js';
import type { Backend } from '../backend/backend.js';
import { sha256Hex } from '../crypto/canonical.js';
import { BlobIndex, encodeIndexSegment, type PackRecord } from './blob-index.js';
import { indexPath, INDEX_DIR, isObjectId, packIdFromListing, PACKS_DIR } from './layout.js';
import { FileKind, openFile, sealFile } from './sealed-file.js';
import type { Subkeys } from './subkeys.js';

/**
 * The index in memory and the segments on disk it came from. Which segments this process wrote, and
 * which packs each segment names, is what prune, the mount's rounds and its tidy at unmount need to
 * replace segments without losing a pack.
 */
export class IndexFiles {
  readonly index = new BlobIndex();
  /** Index segments this process wrote, with the packs each names. */
  readonly newSegments = new Map<string, readonly PackRecord[]>();
  /** Every index segment loaded or written by this process → the packs it names. */
  readonly segmentPacks = new Map<string, readonly string[]>();

  /** `compact`: the format 2 encoding of entry lists. */
  constructor(
    private readonly backend: Backend,
    private readonly keys: Subkeys,
    private readonly compact: boolean,
  ) {}

  /** Loads the index segments not loaded yet (all of them the first time). */
  async load(onDamaged?: (name: string, err: SinkiError) => void): Promise<void> {
    this.index.startLoading();
    try {
      await this.loadSegments(onDamaged);
    } finally {
      this.index.finishLoading();
    }
  }

  private async loadSegments(onDamaged?: (name: string, err: SinkiError) => void): Promise<void> {
    for (const name of await this.backend.list(INDEX_DIR)) {
      if (!isObjectId(name) || this.segmentPacks.has(name)) continue;
      const what = `index/${name}`;
      try {
        const bytes = await this.backend.read(indexPath(name));
        if (sha256Hex(bytes) !== name) throw new SinkiError('CORRUPT', `${what}: content does not match its name (damaged)`);
        this.segmentPacks.set(name, this.index.addSegment(openFile(this.keys, FileKind.Index, bytes, what), what, this.compact));
      } catch (err) {
        if (onDamaged && isSinkiError(err, 'CORRUPT')) onDamaged(what, err);
        else if (isSinkiError(err, 'CORRUPT'))
          throw new SinkiError('CORRUPT', `${err.message}; rebuild it from the packs with "sinki repair index"`, { cause: err });
        else throw err;
      }
    }
  }

  /** `own: false`: a segment that only rewrites others' (no part of this process's own output). */
  async write(records: readonly PackRecord[], own = true): Promise<string> {
    const file = sealFile(this.keys, FileKind.Index, encodeIndexSegment(records, this.compact));
    const name = sha256Hex(file);
    await this.backend.write(indexPath(name), file);
    if (own) this.newSegments.set(name, records);
    this.segmentPacks.set(
      name,
      records.map((r) => r.packId),
    );
    return name;
  }

  /** Deletes an index segment (its packs must be named by another segment, or be deleted too). */
  async remove(name: string): Promise<void> {
    await this.backend.remove(indexPath(name));
    this.newSegments.delete(name);
    this.segmentPacks.delete(name);
  }
}

/** The packs on disk, by id (what the index names is another matter: check and prune compare). */
export async function listPacks(backend: Backend): Promise<string[]> {
  const ids: string[] = [];
  for (const rel of await backend.list(PACKS_DIR)) {
    const id = packIdFromListing(rel);
    if (id) ids.push(id);
  }
  return ids;
}
