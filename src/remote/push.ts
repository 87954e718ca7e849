import { promises as fs, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSinkiError, SinkiError } from '../errors.js';
import { GENERATIONS_DIR, HEAD_REF, INDEX_DIR, isObjectId, SNAPSHOTS_DIR } from '../repo/layout.js';
import { counterOfName, generationFor, newestIn } from '../repo/generation.js';
import type { Subkeys } from '../repo/subkeys.js';
import { parseStatsLine, remoteJoin, type Rclone, type TransferStats } from '../rclone/rclone.js';
import type { RcloneDaemon } from '../rclone/rcd.js';
import { freezeMetadata } from './freeze.js';
import { currentOwner, ownerGone, removeStaleLocalStaging, STAGING_PREFIX, stagingName } from './staging.js';

export interface TransferOptions {
  /** rclone --bwlimit syntax, timetables included. */
  bwlimit?: string;
  transfers?: number;
  onStats?: (phase: string, stats: TransferStats) => void;
}

export interface PushOptions extends TransferOptions {
  dryRun?: boolean;
  /** Delete remote files the local store no longer has, after the new state is up (key files go on every push). */
  delete?: boolean;
  verify?: boolean;
  /** The store's keys: the push seals the remote's generations with them (see sealRemoteGeneration). */
  keys?: Subkeys;
}

export interface PushPhase {
  name: string;
  /** Store-relative rclone patterns: `/dir/**` or `/file`. */
  include: string[];
  /**
   * Uploaded into a staging folder on the remote, then renamed into place: rclone writes a file at
   * its final name while it uploads (local, SFTP, WebDAV), and a half-sent index or snapshot would
   * make the remote unreadable. A half-sent pack is harmless (nothing refers to it yet).
   */
  staged: boolean;
  /** Re-sent on every push: files rewritten in place can keep their size, which is all remotes without modtimes compare. */
  mutable?: boolean;
  /** Sealed by the push for the remote (its generations), not copied from the store. */
  sealedForRemote?: boolean;
}

/**
 * Upload order keeps the remote a consistent store at every moment: nothing is uploaded before
 * what it refers to (packs → index → snapshots → refs and SHA256SUMS → generation). The config
 * files go with the packs: until an index arrives, the remote is an empty store. The remote's
 * generation names what the remote holds once the rest is up, so it goes last. Locks and temp
 * files stay home.
 */
export const PUSH_PHASES: readonly PushPhase[] = [
  { name: 'packs', include: ['/sinki.json', '/keys/**', '/packs/**'], staged: false },
  { name: 'index', include: ['/index/**'], staged: true },
  { name: 'snapshots', include: ['/snapshots/**'], staged: true },
  { name: 'refs', include: ['/refs/**', '/SHA256SUMS'], staged: true, mutable: true },
  { name: 'gen', include: ['/gen/**'], staged: true, sealedForRemote: true },
];

/** The part of the store every push mirrors exactly, deletions included. */
export const KEYS_MIRROR = { include: ['/keys/**'] };

/** Flags of rclone itself for copies: JSON log lines with stats every second (for progress), the user's limits. */
export function transferFlags(o: TransferOptions): string[] {
  const flags = ['--use-json-log', '--stats', '1s', '--stats-log-level', 'NOTICE'];
  if (o.bwlimit) flags.push('--bwlimit', o.bwlimit);
  if (o.transfers) flags.push('--transfers', String(o.transfers));
  return flags;
}

/** Global flags of a push's rclone daemon: they hold for all its jobs together (one bandwidth limit for the whole push). */
export function daemonFlags(o: PushOptions): string[] {
  const flags: string[] = [];
  if (o.bwlimit) flags.push('--bwlimit', o.bwlimit);
  if (o.transfers) flags.push('--transfers', String(o.transfers));
  if (o.dryRun) flags.push('--dry-run');
  return flags;
}

/** Filter rules for one phase; temp files are excluded first (with an include alone, rclone would match them by the include). */
export function phaseRules(phase: { include: readonly string[] }): string[] {
  return ['- .tmp-*', ...phase.include.map((p) => `+ ${p}`), '- **'];
}

export interface PushReport {
  phases: Array<{ name: string; bytes: number; transfers: number }>;
  verified?: { objects: number; bad: string[] };
}

/**
 * Mirrors the store at `storePath` to `remote` through a running rclone daemon (the caller starts
 * it with daemonFlags(o) and closes it): one rclone start for the whole push, however many
 * operations it takes.
 */
export async function push(daemon: RcloneDaemon, storePath: string, remote: string, o: PushOptions): Promise<PushReport> {
  const name = stagingName(await currentOwner());
  await removeStaleLocalStaging(storePath);
  const frozen = await freezeMetadata(storePath, name);
  // Ctrl-C ends the process from its signal handler, past any finally: exit handlers still run (and must be synchronous).
  const removeFrozen = (): void => {
    if (frozen) rmSync(frozen, { recursive: true, force: true });
  };
  process.once('exit', removeFrozen);
  try {
    return await pushFrom(daemon, storePath, frozen ?? storePath, remote, name, o);
  } finally {
    if (frozen) await fs.rm(frozen, { recursive: true, force: true });
    process.off('exit', removeFrozen);
  }
}

async function pushFrom(daemon: RcloneDaemon, storePath: string, metadataPath: string, remote: string, name: string, o: PushOptions): Promise<PushReport> {
  const genDir = await fs.mkdtemp(join(tmpdir(), 'sinki-push-gen-'));
  try {
    return await pushWithGenerations(daemon, storePath, metadataPath, remote, name, genDir, o);
  } finally {
    await fs.rm(genDir, { recursive: true, force: true });
  }
}

async function pushWithGenerations(
  daemon: RcloneDaemon,
  storePath: string,
  metadataPath: string,
  remote: string,
  name: string,
  genDir: string,
  o: PushOptions,
): Promise<PushReport> {
  const staging = remoteJoin(remote, name);
  const genPhase = PUSH_PHASES.find((p) => p.sealedForRemote)!;
  const remoteGens = o.keys ? await sealRemoteGeneration(daemon, metadataPath, remote, genDir, o.keys, Boolean(o.delete)) : null;
  const copy = async (phase: PushPhase): Promise<PushReport['phases'][number]> => {
    const params = phase.staged
      ? { srcFs: phase.sealedForRemote ? genDir : metadataPath, dstFs: staging, ...(phase.mutable ? {} : { _config: { CompareDest: [remote] } }) }
      : { srcFs: storePath, dstFs: remote };
    const done = await daemon.transfer('sync/copy', { ...params, _filter: { FilterRule: phaseRules(phase) } }, `copy to ${remote}`, (s) =>
      o.onStats?.(phase.name, s),
    );
    return { name: phase.name, bytes: done.bytes, transfers: done.transfers };
  };
  // Nothing in the staging folder is visible, so every phase goes up at once (the daemon's bandwidth
  // limit holds for all of them together); staged files are renamed into place once the packs are
  // complete, one phase after the other. Folders that killed pushes left are cleared meanwhile.
  // A listing or purge that fails beside the uploads is tried once more after them; a second failure
  // leaves the folders to the next push.
  const cleared: Promise<boolean> = o.dryRun
    ? Promise.resolve(true)
    : removeStaleRemoteStaging(daemon, remote, false).then(
        () => true,
        () => false,
      );
  const [reports, clearedBeside] = await settled(Promise.all(PUSH_PHASES.map((p) => settledValue(copy(p)))), cleared);
  const failed = reports.find((r): r is { error: unknown } => 'error' in r);
  if (failed) throw failed.error;
  if (!clearedBeside) await removeStaleRemoteStaging(daemon, remote, false).catch(() => undefined);
  const report: PushReport = { phases: reports.map((r) => (r as { value: PushReport['phases'][number] }).value) };
  const sent = PUSH_PHASES.filter((p, i) => p.staged && !o.dryRun && report.phases[i]!.transfers > 0);
  if (sent.length) {
    await renameIntoPlace(daemon, staging, remote, sent);
    await daemon.call('operations/purge', { fs: remote, remote: name }, `purge in ${remote}`);
  }
  // Readers compare with the newest generation only: the remote's older ones can go.
  if (remoteGens && !o.dryRun) await removeRemoteGenerationsBelow(daemon, remote, counterOfName(remoteGens.first)!);
  // keys/ is mirrored exactly on every push, --delete or not: a removed password (key remove,
  // key passwd) must stop opening the remote copy too, and a key file planted there goes. Only
  // after the new state is up, so the remote always holds a key that opens it.
  await daemon.transfer('sync/sync', { srcFs: storePath, dstFs: remote, _filter: { FilterRule: phaseRules(KEYS_MIRROR) } }, `sync keys to ${remote}`);
  if (o.delete) {
    // Deletions last, newest state first, so a remote never refers to something already gone.
    for (const phase of [...PUSH_PHASES].reverse()) {
      const srcFs = phase.sealedForRemote ? genDir : phase.staged ? metadataPath : storePath;
      await daemon.transfer('sync/sync', { srcFs, dstFs: remote, _filter: { FilterRule: phaseRules(phase) } }, `sync to ${remote}`);
    }
    // The generation placed before the deletions allowed for them ("removing"); once they are
    // done, one without: objects deleted here and put back later are then a rollback.
    if (remoteGens && !o.dryRun) {
      await fs.rm(join(genDir, GENERATIONS_DIR, remoteGens.first), { force: true });
      await writeGeneration(genDir, remoteGens.after());
      await copy(genPhase);
      await renameIntoPlace(daemon, staging, remote, [genPhase]);
      await daemon.call('operations/purge', { fs: remote, remote: name }, `purge in ${remote}`);
      await removeRemoteGenerationsBelow(daemon, remote, counterOfName(remoteGens.first)! + 1);
    }
    // Staging folders of interrupted pushes, and of pushes of unknown origin (other hosts, older sinki).
    await removeStaleRemoteStaging(daemon, remote, true);
  }
  if (o.verify && !o.dryRun) report.verified = await verifyRemote(daemon.rclone, remote);
  return report;
}

/** File names in a folder of the remote (none when it does not exist). */
async function remoteNames(daemon: RcloneDaemon, remote: string, dir: string): Promise<string[]> {
  try {
    const listed = await daemon.call('operations/list', { fs: remote, remote: dir, opt: { filesOnly: true } }, `lsf ${remote}`);
    return ((listed.list ?? []) as Array<{ Name?: string }>).map((e) => e.Name ?? '').filter(Boolean);
  } catch (err) {
    if (isSinkiError(err, 'RCLONE') && /not found/i.test(err.message)) return [];
    throw err;
  }
}

async function removeRemoteGenerationsBelow(daemon: RcloneDaemon, remote: string, counter: number): Promise<void> {
  for (const name of await remoteNames(daemon, remote, GENERATIONS_DIR)) {
    const c = counterOfName(name);
    if (c !== null && c < counter) await daemon.call('operations/deletefile', { fs: remote, remote: `${GENERATIONS_DIR}/${name}` }, `delete in ${remote}`);
  }
}

async function localNames(dir: string): Promise<string[]> {
  return fs.readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
}

async function writeGeneration(genDir: string, g: { name: string; file: Buffer }): Promise<void> {
  await fs.mkdir(join(genDir, GENERATIONS_DIR), { recursive: true, mode: 0o700 });
  await fs.writeFile(join(genDir, GENERATIONS_DIR, g.name), g.file, { mode: 0o600 });
}

/**
 * The remote's own generation (docs/STORE-FORMAT.md, "Generations"), written into `genDir/gen/`
 * for the last phase: it names what the remote holds once this push is up (the frozen index,
 * snapshots and refs/head, and whatever the remote keeps that the store no longer has), with a
 * counter above every generation there and here, and the store's epoch. The store's own generation
 * files are not copied: they name what the store holds, which a push without --delete does not make
 * the remote equal. With `deleting` (push --delete), the first one marks what the deletions will
 * remove, and `after()` gives the one to place when they are done.
 */
async function sealRemoteGeneration(
  daemon: RcloneDaemon,
  metadataPath: string,
  remote: string,
  genDir: string,
  keys: Subkeys,
  deleting: boolean,
): Promise<{ first: string; after: () => { name: string; file: Buffer } }> {
  const localGen = join(metadataPath, GENERATIONS_DIR);
  const local = await newestIn(keys, { list: () => localNames(localGen), read: (n) => fs.readFile(join(localGen, n)) });
  const [remoteGens = [], remoteIndex = [], remoteSnapshots = []] = await Promise.all(
    [GENERATIONS_DIR, INDEX_DIR, SNAPSHOTS_DIR].map((dir) => remoteNames(daemon, remote, dir)),
  );
  const index = (await localNames(join(metadataPath, INDEX_DIR))).filter(isObjectId);
  const snapshots = (await localNames(join(metadataPath, SNAPSHOTS_DIR))).filter(isObjectId);
  const head = await fs.readFile(join(metadataPath, HEAD_REF)).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  const counter = Math.max(local?.counter ?? 0, ...remoteGens.map((n) => counterOfName(n) ?? 0)) + 1;
  const epoch = local?.epoch ?? 0;
  const goneIndex = remoteIndex.filter((n) => isObjectId(n) && !index.includes(n));
  const goneSnapshots = remoteSnapshots.filter((n) => isObjectId(n) && !snapshots.includes(n));
  const removing = deleting ? [...goneIndex.map((n) => `${INDEX_DIR}/${n}`), ...goneSnapshots.map((n) => `${SNAPSHOTS_DIR}/${n}`)] : [];
  const first = generationFor(keys, { counter, epoch, index: [...index, ...goneIndex], snapshots: [...snapshots, ...goneSnapshots], head, removing });
  await writeGeneration(genDir, first);
  return { first: first.name, after: () => generationFor(keys, { counter: counter + 1, epoch, index, snapshots, head }) };
}

/** A promise's value or error, once it has settled (so that no job is left running behind a failure). */
function settledValue<T>(p: Promise<T>): Promise<{ value: T } | { error: unknown }> {
  return p.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}

/** Both results once both have finished, or the first failure. */
async function settled<A, B>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === 'rejected') throw ra.reason;
  if (rb.status === 'rejected') throw rb.reason;
  return [ra.value, rb.value];
}

/** The phase whose include patterns take this store-relative path (`index/ab…`, `SHA256SUMS`). */
export function phaseOfPath(path: string, phases: readonly PushPhase[] = PUSH_PHASES): PushPhase | undefined {
  const takes = (pattern: string): boolean => (pattern.endsWith('/**') ? path.startsWith(pattern.slice(1, -2)) : path === pattern.slice(1));
  return phases.find((phase) => phase.include.some(takes));
}

/**
 * Moves the staged files to their real names (server-side renames where the remote has them), one
 * phase after the other, the files of a phase side by side. The staging folder holds exactly what
 * this push sent (an immutable phase: what the remote lacked; a mutable one: all its files).
 */
async function renameIntoPlace(daemon: RcloneDaemon, staging: string, remote: string, phases: readonly PushPhase[]): Promise<void> {
  const listed = await daemon.call('operations/list', { fs: staging, remote: '', opt: { recurse: true, filesOnly: true } }, `lsf ${remote}`);
  const staged = ((listed.list ?? []) as Array<{ Path?: string }>).map((e) => e.Path ?? '').filter(Boolean);
  // IgnoreTimes: a move would otherwise keep a same-size file already there and drop the new one.
  const _config = { IgnoreTimes: true };
  for (const phase of phases) {
    const files = staged.filter((path) => phaseOfPath(path) === phase);
    await Promise.all(
      files.map((path) =>
        daemon.call('operations/movefile', { srcFs: staging, srcRemote: path, dstFs: remote, dstRemote: path, _config }, `moveto in ${remote}`),
      ),
    );
  }
}

/**
 * Removes staging folders on the remote that pushes killed midway left: those of this host whose
 * push has ended, and with `all` (push --delete) also those of unknown origin. A staging folder of
 * a push still running (here or, as far as anyone can tell, elsewhere) is kept.
 */
export async function removeStaleRemoteStaging(daemon: RcloneDaemon, remote: string, all: boolean): Promise<string[]> {
  let list: Array<{ Name?: string; IsDir?: boolean }>;
  try {
    list = ((await daemon.call('operations/list', { fs: remote, remote: '', opt: { dirsOnly: true } }, `lsf ${remote}`)).list ?? []) as typeof list;
  } catch (err) {
    if (isSinkiError(err, 'RCLONE') && /not found/i.test(err.message)) return []; // a new remote
    throw err;
  }
  const removed: string[] = [];
  for (const entry of list) {
    const name = entry.Name ?? '';
    if (!entry.IsDir || !name.startsWith(STAGING_PREFIX)) continue;
    const gone = await ownerGone(name);
    if (gone === true || (all && gone === null)) {
      await daemon.call('operations/purge', { fs: remote, remote: name }, `purge in ${remote}`);
      removed.push(name);
    }
  }
  return removed;
}

/** Every pack, index and snapshot object on the remote: its SHA-256 must equal its name. */
export async function verifyRemote(rclone: Rclone, remote: string): Promise<{ objects: number; bad: string[] }> {
  const bad: string[] = [];
  let objects = 0;
  for (const dir of ['packs', 'index', 'snapshots']) {
    let out: string;
    try {
      out = (await rclone.run(['hashsum', 'sha256', remoteJoin(remote, dir)])).stdout.toString();
    } catch (err) {
      if (err instanceof SinkiError && /not found/i.test(err.message)) continue;
      if (!(err instanceof SinkiError && /hash.*not supported|unsupported/i.test(err.message))) throw err;
      out = (await rclone.run(['hashsum', 'sha256', '--download', remoteJoin(remote, dir)])).stdout.toString();
    }
    for (const line of out.split('\n').filter(Boolean)) {
      const m = /^([0-9a-f]{64})\s+(.+)$/.exec(line.trim());
      if (!m) continue;
      const name = m[2]!.split('/').pop()!;
      if (!isObjectId(name)) continue;
      objects += 1;
      if (m[1] !== name) bad.push(`${dir}/${m[2]}`);
    }
  }
  return { objects, bad };
}

/** The pre-operation of `backup --from`: copy a remote folder into a local staging folder. */
export async function pull(rclone: Rclone, remote: string, target: string, o: TransferOptions): Promise<void> {
  try {
    await rclone.run(['copy', remote, target, ...transferFlags(o), '--links', '--create-empty-src-dirs'], (line) => {
      const s = parseStatsLine(line);
      if (s) o.onStats?.('pull', s);
    });
  } catch (err) {
    if (isSinkiError(err, 'RCLONE')) throw new SinkiError('RCLONE', `cannot pull ${remote}: ${err.message.replace(/^rclone copy: /, '')}`, { cause: err });
    throw err;
  }
}
