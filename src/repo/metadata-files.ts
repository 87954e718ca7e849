import { SinkiError, isSinkiError } from '../errors.js';
import type { Backend } from '../backend/backend.js';
import { sha256Hex } from '../crypto/canonical.js';
import { listPacks } from './index-files.js';
import { indexPath, INDEX_DIR, isObjectId, packPath, snapshotPath, SNAPSHOTS_DIR, SUMS_FILE } from './layout.js';
import { FileKind, openFile, sealFile } from './sealed-file.js';
import { decodeSnapshot, encodeSnapshot, selectSnapshot, type Snapshot, type StoredSnapshot } from './snapshot.js';
import { commitGeneration, currentEpoch, type CommitOptions } from './generation.js';
import type { GenerationMemory } from './generation-memory.js';
import type { Subkeys } from './subkeys.js';

/**
 * The store's files beside packs and index: snapshots, SHA256SUMS, and the generation that seals each
 * committed state. Each is a whole sealed (or, for SHA256SUMS, public) file, named by its content.
 */
export class MetadataFiles {
  /** `generations`: where this machine keeps the newest generation it has seen (raised by every commit here). */
  constructor(
    readonly backend: Backend,
    readonly keys: Subkeys,
    private readonly storeId: string,
    private readonly generations: GenerationMemory | undefined,
  ) {}

  /** The snapshot carries the store's epoch: put back after a forget, it is told from a new one (generation.ts). */
  async saveSnapshot(snapshot: Snapshot): Promise<string> {
    const file = sealFile(this.keys, FileKind.Snapshot, encodeSnapshot({ ...snapshot, epoch: await currentEpoch(this) }));
    const id = sha256Hex(file);
    await this.backend.write(snapshotPath(id), file);
    return id;
  }

  async loadSnapshot(id: string): Promise<StoredSnapshot> {
    const what = `snapshot ${id}`;
    let bytes: Buffer;
    try {
      bytes = await this.backend.read(snapshotPath(id));
    } catch (err) {
      if (isSinkiError(err, 'NOT_FOUND')) throw new SinkiError('NOT_FOUND', `${what} does not exist`);
      throw err;
    }
    if (sha256Hex(bytes) !== id) throw new SinkiError('CORRUPT', `${what}: content does not match its name (damaged)`);
    return { id, ...decodeSnapshot(openFile(this.keys, FileKind.Snapshot, bytes, what), what) };
  }

  async listSnapshots(onDamaged?: (id: string, err: SinkiError) => void): Promise<StoredSnapshot[]> {
    const out: StoredSnapshot[] = [];
    for (const name of await this.backend.list(SNAPSHOTS_DIR)) {
      if (!isObjectId(name)) continue;
      try {
        out.push(await this.loadSnapshot(name));
      } catch (err) {
        if (onDamaged && isSinkiError(err, 'CORRUPT')) onDamaged(name, err);
        else throw err;
      }
    }
    return out.sort((a, b) => a.time.localeCompare(b.time));
  }

  /** A damaged snapshot file does not hide the others; asking for it by id names the damage. */
  async findSnapshot(ref: string): Promise<StoredSnapshot> {
    const damaged: SinkiError[] = [];
    const good = await this.listSnapshots((id, err) => {
      if (id.startsWith(ref)) damaged.push(err);
    });
    try {
      return selectSnapshot(good, ref);
    } catch (err) {
      if (damaged[0] && isSinkiError(err, 'NOT_FOUND')) throw damaged[0];
      throw err;
    }
  }

  /** Seals the store as it is now as its next generation (docs/STORE-FORMAT.md, "Generations"). */
  async commitGeneration(o: CommitOptions = {}): Promise<void> {
    const { counter } = await commitGeneration(this, o);
    await this.generations?.remember(this.storeId, this.backend.location, counter);
  }

  /** SHA256SUMS, then a new generation: what every command that adds or removes snapshots or index segments ends with. */
  async commitState(o: CommitOptions = {}): Promise<void> {
    await this.writeSums();
    await this.commitGeneration(o);
  }

  /** SHA256SUMS: every pack, index and snapshot file, so an offsite copy verifies with `sha256sum -c`. */
  async writeSums(): Promise<void> {
    const lines: string[] = [];
    for (const id of await listPacks(this.backend)) lines.push(`${id}  ${packPath(id)}`);
    for (const name of await this.backend.list(INDEX_DIR)) if (isObjectId(name)) lines.push(`${name}  ${indexPath(name)}`);
    for (const name of await this.backend.list(SNAPSHOTS_DIR)) if (isObjectId(name)) lines.push(`${name}  ${snapshotPath(name)}`);
    await this.backend.write(SUMS_FILE, Buffer.from(lines.join('\n') + (lines.length ? '\n' : '')));
  }
}
