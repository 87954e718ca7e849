import { randomBytes } from 'node:crypto';
import { SinkiError, isSinkiError } from '../errors.js';
import type { Backend } from '../backend/backend.js';
import { sha256Hex } from '../crypto/canonical.js';
import { decodeIndexSegment } from './blob-index.js';
import { generationPath, GENERATIONS_DIR, HEAD_REF, indexPath, INDEX_DIR, isObjectId, packIdFromListing, PACKS_DIR, SNAPSHOTS_DIR } from './layout.js';
import { decodeHead } from './refs.js';
import { FileKind, openFile, sealFile } from './sealed-file.js';
import { decodeSnapshot } from './snapshot.js';
import type { Subkeys } from './subkeys.js';

/**
 * A generation: one committed state of the store, sealed with its keys (docs/STORE-FORMAT.md,
 * "Generations"). A writer seals one after each commit, with a counter one above the highest it
 * finds, so anyone who can only write the store's files cannot put an older state back unnoticed.
 */
export interface Generation {
  counter: number;
  /** Counter of the newest generation that removed objects (forget, prune, repair, a mount's tidy); 0 if none. */
  epoch: number;
  /** Index segment names and snapshot ids present when it was sealed. */
  index: string[];
  snapshots: string[];
  /** SHA-256 of the refs/head file, and its sequence number (0 when absent or older than sequences). */
  head: string | null;
  headSeq: number;
  /** Objects ("index/<name>", "snapshots/<id>") a remover is about to delete: present or not, both fine. */
  removing: string[];
}

/** What a reader compares the store with: the union of every generation with the highest counter. */
export interface NewestState {
  counter: number;
  epoch: number;
  index: Set<string>;
  snapshots: Set<string>;
  heads: Set<string>;
  headSeq: number;
  removing: Set<string>;
}

/** The store parts a generation needs: where the files are and the keys that seal them. */
export interface GenerationStore {
  readonly backend: Backend;
  readonly keys: Subkeys;
}

const NAME = /^(\d{12})-([0-9a-f]{16})$/;
const COUNTER_DIGITS = 12;

export function generationName(counter: number): string {
  return `${String(counter).padStart(COUNTER_DIGITS, '0')}-${randomBytes(8).toString('hex')}`;
}

export function counterOfName(name: string): number | null {
  const m = NAME.exec(name);
  return m ? Number(m[1]) : null;
}

export function sealGeneration(keys: Subkeys, name: string, g: Generation): Buffer {
  return sealFile(keys, FileKind.Generation, Buffer.from(JSON.stringify(g)), name);
}

const hexList = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string' && isObjectId(x));

export function openGeneration(keys: Subkeys, name: string, file: Buffer): Generation {
  const what = generationPath(name);
  const payload = openFile(keys, FileKind.Generation, file, what, name);
  let g: Partial<Generation>;
  try {
    g = JSON.parse(payload.toString()) as Partial<Generation>;
  } catch {
    throw new SinkiError('CORRUPT', `${what}: damaged (not a generation)`);
  }
  const ok =
    typeof g === 'object' &&
    g !== null &&
    g.counter === counterOfName(name) &&
    Number.isSafeInteger(g.epoch) &&
    hexList(g.index) &&
    hexList(g.snapshots) &&
    (g.head === null || (typeof g.head === 'string' && isObjectId(g.head))) &&
    Number.isSafeInteger(g.headSeq) &&
    Array.isArray(g.removing) &&
    g.removing.every((r) => typeof r === 'string');
  if (!ok) throw new SinkiError('CORRUPT', `${what}: damaged (not a generation)`);
  return g as Generation;
}

/** Generation files on the store, by counter. */
export async function listGenerations(backend: Backend): Promise<Array<{ name: string; counter: number }>> {
  const out: Array<{ name: string; counter: number }> = [];
  for (const name of await backend.list(GENERATIONS_DIR)) {
    const counter = counterOfName(name);
    if (counter !== null) out.push({ name, counter });
  }
  return out.sort((a, b) => a.counter - b.counter);
}

/** Where generation files are read from: a store's gen/ folder, or a frozen copy of it (push). */
export interface GenerationSource {
  /** File names in gen/. */
  list(): Promise<string[]>;
  /** A generation's bytes; NOT_FOUND (SinkiError) or ENOENT when it went meanwhile. */
  read(name: string): Promise<Buffer>;
}

/**
 * The newest state: the generations with the highest counter, joined (writers that committed at
 * once may share a counter). A damaged one is passed to `onDamaged` and left out; null when none.
 */
export async function readNewest(store: GenerationStore, onDamaged: (name: string, err: SinkiError) => void = () => undefined): Promise<NewestState | null> {
  const source = { list: () => store.backend.list(GENERATIONS_DIR), read: (name: string) => store.backend.read(generationPath(name)) };
  return newestIn(store.keys, source, onDamaged);
}

export async function newestIn(
  keys: Subkeys,
  source: GenerationSource,
  onDamaged: (name: string, err: SinkiError) => void = () => undefined,
): Promise<NewestState | null> {
  // A writer removes its own older generation after writing a newer one: a file listed a moment
  // ago may be gone. Listing again then finds the newer one.
  for (let attempt = 0; ; attempt++) {
    const all = (await source.list())
      .map((name) => ({ name, counter: counterOfName(name) }))
      .filter((x): x is { name: string; counter: number } => x.counter !== null)
      .sort((a, b) => a.counter - b.counter);
    const readable: Array<{ name: string; g: Generation }> = [];
    let vanished = false;
    for (let i = all.length - 1; i >= 0; i--) {
      const { name, counter } = all[i]!;
      if (readable.length > 0 && counter < readable[0]!.g.counter) break;
      try {
        readable.push({ name, g: openGeneration(keys, name, await source.read(name)) });
      } catch (err) {
        if (isSinkiError(err, 'NOT_FOUND') || (err as NodeJS.ErrnoException).code === 'ENOENT') vanished = true;
        else if (isSinkiError(err, 'CORRUPT')) onDamaged(name, err);
        else throw err;
      }
    }
    if (vanished && attempt < 3) continue;
    if (readable.length === 0) return null;
    const state: NewestState = {
      counter: readable[0]!.g.counter,
      epoch: 0,
      index: new Set(),
      snapshots: new Set(),
      heads: new Set(),
      headSeq: 0,
      removing: new Set(),
    };
    for (const { g } of readable) {
      state.epoch = Math.max(state.epoch, g.epoch);
      state.headSeq = Math.max(state.headSeq, g.headSeq);
      for (const x of g.index) state.index.add(x);
      for (const x of g.snapshots) state.snapshots.add(x);
      for (const x of g.removing) state.removing.add(x);
      if (g.head) state.heads.add(g.head);
    }
    return state;
  }
}

/** The epoch new snapshots carry: a snapshot older than the newest removal and missing from the newest state was put back. */
export async function currentEpoch(store: GenerationStore): Promise<number> {
  return (await readNewest(store))?.epoch ?? 0;
}

async function readOptional(backend: Backend, path: string): Promise<Buffer | null> {
  try {
    return await backend.read(path);
  } catch (err) {
    if (isSinkiError(err, 'NOT_FOUND')) return null;
    throw err;
  }
}

/** refs/head's sequence number (0 before sequences), or null when it cannot be opened (damage, which check reports). */
function headSeqOf(keys: Subkeys, bytes: Buffer): number | null {
  try {
    return decodeHead(openFile(keys, FileKind.Ref, bytes, HEAD_REF, 'head')).seq ?? 0;
  } catch (err) {
    if (isSinkiError(err, 'CORRUPT')) return null;
    throw err;
  }
}

/**
 * A generation sealed for a copy of the store (a push's remote), from what that copy will hold:
 * `counter` above every generation there and here, this store's epoch, and its refs/head file.
 */
export function generationFor(
  keys: Subkeys,
  fields: { counter: number; epoch: number; index: Iterable<string>; snapshots: Iterable<string>; head: Buffer | null; removing?: string[] },
): { name: string; file: Buffer } {
  const g: Generation = {
    counter: fields.counter,
    epoch: fields.epoch,
    index: [...new Set(fields.index)].filter(isObjectId).sort(),
    snapshots: [...new Set(fields.snapshots)].filter(isObjectId).sort(),
    head: fields.head ? sha256Hex(fields.head) : null,
    headSeq: fields.head ? (headSeqOf(keys, fields.head) ?? 0) : 0,
    removing: fields.removing ?? [],
  };
  const name = generationName(g.counter);
  return { name, file: sealGeneration(keys, name, g) };
}

export interface CommitOptions {
  /** The writer holds the store alone (it may remove objects): the generation starts a new epoch. */
  exclusive?: boolean;
  /** Objects about to be deleted (exclusive only). */
  removing?: string[];
}

/**
 * Seals the store's present state as the next generation and returns its name. Called after the
 * writer's objects are durable (they are in its own listing). Generations with lower counters are
 * deleted then: a reader compares with the newest only, and what an older one named that this
 * listing lacks (objects of a writer still at work) is told apart as findRollback says.
 */
export async function commitGeneration(store: GenerationStore, o: CommitOptions = {}): Promise<{ name: string; counter: number }> {
  const newest = await readNewest(store);
  const counter = (newest?.counter ?? 0) + 1;
  // Listed after the generations: an object that a writer with a lower counter missed is in this listing.
  const index = (await store.backend.list(INDEX_DIR)).filter(isObjectId).sort();
  const snapshots = (await store.backend.list(SNAPSHOTS_DIR)).filter(isObjectId).sort();
  const headBytes = await readOptional(store.backend, HEAD_REF);
  const g: Generation = {
    counter,
    epoch: o.exclusive ? counter : (newest?.epoch ?? 0),
    index,
    snapshots,
    head: headBytes ? sha256Hex(headBytes) : null,
    headSeq: headBytes ? (headSeqOf(store.keys, headBytes) ?? 0) : 0,
    removing: o.removing ?? [],
  };
  const name = generationName(counter);
  await store.backend.write(generationPath(name), sealGeneration(store.keys, name, g));
  for (const { name: old } of (await listGenerations(store.backend)).filter((x) => x.counter < counter)) {
    await store.backend.remove(generationPath(old)).catch((err: unknown) => {
      if (!isSinkiError(err, 'NOT_FOUND') && (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    });
  }
  return { name, counter };
}

/**
 * What only a rollback (or a deleted snapshot or refs/head) explains, compared with the newest generation and with
 * `remembered`, the newest counter this machine saw here. Objects written by a writer still at work
 * are not in any generation yet; they are told apart by what they carry:
 * - a snapshot carries the epoch it was written in: one from before the newest removal that the
 *   newest state lacks was removed and put back (removals hold the store alone, so no writer of an
 *   older epoch is still at work);
 * - refs/head carries a sequence number that only grows: one below a sequence a generation names is old;
 * - an index segment carries nothing, but a pruned one names packs that are gone: only that is reported.
 * Damaged objects are left to the commands that read them.
 */
export async function findRollback(store: GenerationStore, remembered: number | undefined): Promise<{ problems: string[]; newest: NewestState | null }> {
  const problems: string[] = [];
  const newest = await readNewest(store, (name, err) => problems.push(`generation file gen/${name} is damaged (${err.message})`));
  if (!newest) {
    if (remembered !== undefined && problems.length === 0)
      problems.push(`its generation files are gone, but this machine has seen generation ${remembered} there`);
    return { problems, newest };
  }
  if (remembered !== undefined && newest.counter < remembered)
    problems.push(`its newest generation is ${newest.counter}, but this machine has seen generation ${remembered} there`);
  const { backend, keys } = store;
  const short = (id: string): string => id.slice(0, 12);

  const index = new Set((await backend.list(INDEX_DIR)).filter(isObjectId));
  const snapshots = new Set((await backend.list(SNAPSHOTS_DIR)).filter(isObjectId));
  // A missing index segment is left to the reads and to check, which name the blobs it took along,
  // and to "sinki repair index", which rebuilds it from the packs: a rollback of index/ alone only
  // loses blobs, and one that brings back pruned segments is caught below.
  for (const id of newest.snapshots)
    if (!snapshots.has(id) && !newest.removing.has(`snapshots/${id}`)) problems.push(`snapshot ${short(id)} of generation ${newest.counter} is gone`);

  for (const id of snapshots) {
    if (newest.snapshots.has(id) || newest.removing.has(`snapshots/${id}`)) continue;
    const bytes = await readOptional(backend, `${SNAPSHOTS_DIR}/${id}`);
    if (!bytes || sha256Hex(bytes) !== id) continue;
    let epoch: number;
    try {
      epoch = decodeSnapshot(openFile(keys, FileKind.Snapshot, bytes, `snapshot ${id}`), `snapshot ${id}`).epoch ?? 0;
    } catch (err) {
      if (isSinkiError(err, 'CORRUPT')) continue;
      throw err;
    }
    if (epoch < newest.epoch) problems.push(`snapshot ${short(id)} was removed (epoch ${epoch}, before generation ${newest.epoch}) and is back`);
  }

  let packs: Set<string> | null = null;
  for (const name of index) {
    if (newest.index.has(name) || newest.removing.has(`index/${name}`)) continue;
    const bytes = await readOptional(backend, indexPath(name));
    if (!bytes || sha256Hex(bytes) !== name) continue;
    let packIds: string[];
    try {
      packIds = decodeIndexSegment(openFile(keys, FileKind.Index, bytes, `index/${name}`), `index/${name}`, keys.idsOfHashes).map((r) => r.packId);
    } catch (err) {
      if (isSinkiError(err, 'CORRUPT')) continue;
      throw err;
    }
    packs ??= new Set((await backend.list(PACKS_DIR)).map(packIdFromListing).filter((x): x is string => x !== null));
    const gone = packIds.find((p) => !packs!.has(p));
    if (gone) problems.push(`index segment ${short(name)} names pack ${short(gone)}, which is gone: a pruned segment is back`);
  }

  const head = await readOptional(backend, HEAD_REF);
  if (!head) {
    if (newest.heads.size > 0) problems.push(`refs/head of generation ${newest.counter} is gone`);
  } else if (!newest.heads.has(sha256Hex(head))) {
    const seq = headSeqOf(keys, head);
    if (seq !== null && seq < newest.headSeq) problems.push(`refs/head is older (sequence ${seq}) than generation ${newest.counter} says (${newest.headSeq})`);
  }
  return { problems, newest };
}
