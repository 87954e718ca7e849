import { promises as fs, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { isSinkiError, SinkiError } from '../errors.js';
import { isObjectId } from '../repo/layout.js';
import { parseStatsLine, remoteJoin, type Rclone, type TransferStats } from '../rclone/rclone.js';
import { freezeMetadata } from './freeze.js';

export interface TransferOptions {
  /** rclone --bwlimit syntax, timetables included. */
  bwlimit?: string;
  transfers?: number;
  onStats?: (phase: string, stats: TransferStats) => void;
}

export interface PushOptions extends TransferOptions {
  dryRun?: boolean;
  /** Delete remote files the local store no longer has, after the new state is up. */
  delete?: boolean;
  verify?: boolean;
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
}

/**
 * Upload order keeps the remote a consistent store at every moment: nothing is uploaded before
 * what it refers to (packs → index → snapshots → refs and SHA256SUMS). The config files go with
 * the packs: until an index arrives, the remote is an empty store. Locks and temp files stay home.
 */
export const PUSH_PHASES: readonly PushPhase[] = [
  { name: 'packs', include: ['/sinki.json', '/keys/**', '/packs/**'], staged: false },
  { name: 'index', include: ['/index/**'], staged: true },
  { name: 'snapshots', include: ['/snapshots/**'], staged: true },
  { name: 'refs', include: ['/refs/**', '/SHA256SUMS'], staged: true, mutable: true },
];

/** Names of staging folders on the remote (and of the frozen metadata at home); sinki never lists `.tmp-` names. */
const STAGING_PREFIX = '.tmp-push-';

export function transferFlags(o: TransferOptions): string[] {
  const flags = ['--use-json-log', '--stats', '1s', '--stats-log-level', 'NOTICE'];
  if (o.bwlimit) flags.push('--bwlimit', o.bwlimit);
  if (o.transfers) flags.push('--transfers', String(o.transfers));
  return flags;
}

/** Filter rules for one phase; temp files are excluded first (with --include alone, rclone would match them by the include). */
export function phaseFilters(phase: { include: string[] }): string[] {
  return ['--filter', '- .tmp-*', ...phase.include.flatMap((p) => ['--filter', `+ ${p}`]), '--filter', '- **'];
}

export interface PushReport {
  phases: Array<{ name: string; bytes: number; transfers: number }>;
  verified?: { objects: number; bad: string[] };
}

export async function push(rclone: Rclone, storePath: string, remote: string, o: PushOptions): Promise<PushReport> {
  const frozen = await freezeMetadata(storePath);
  // Ctrl-C ends the process from its signal handler, past any finally: exit handlers still run (and must be synchronous).
  const removeFrozen = (): void => {
    if (frozen) rmSync(frozen, { recursive: true, force: true });
  };
  process.once('exit', removeFrozen);
  try {
    return await pushFrom(rclone, storePath, frozen ?? storePath, remote, o);
  } finally {
    if (frozen) await fs.rm(frozen, { recursive: true, force: true });
    process.off('exit', removeFrozen);
  }
}

async function pushFrom(rclone: Rclone, storePath: string, metadataPath: string, remote: string, o: PushOptions): Promise<PushReport> {
  const common = [...transferFlags(o), ...(o.dryRun ? ['--dry-run'] : [])];
  const staging = remoteJoin(remote, `${STAGING_PREFIX}${randomBytes(6).toString('hex')}`);
  const copy = async (phase: PushPhase): Promise<PushReport['phases'][number]> => {
    const args = phase.staged
      ? ['copy', metadataPath, staging, ...(phase.mutable ? [] : ['--compare-dest', remote])]
      : ['copy', storePath, remote];
    let last: TransferStats | null = null;
    await rclone.run([...args, ...common, ...phaseFilters(phase)], (line) => {
      const s = parseStatsLine(line);
      if (!s) return;
      last = s;
      o.onStats?.(phase.name, s);
    });
    const done = last as TransferStats | null;
    return { name: phase.name, bytes: done?.bytes ?? 0, transfers: done?.transfers ?? 0 };
  };
  const direct = PUSH_PHASES.filter((p) => !p.staged);
  const staged = PUSH_PHASES.filter((p) => p.staged);
  // Nothing in the staging folder is visible, so the staged phases go up side by side, and beside
  // the packs unless a bandwidth limit is to hold for the push as a whole; they are renamed into
  // place once the packs are complete, one phase after the other.
  const sendDirect = Promise.all(direct.map(copy));
  const sendStaged = o.bwlimit ? sendDirect.then(() => Promise.all(staged.map(copy))) : Promise.all(staged.map(copy));
  const [directReports, stagedReports] = await settled(sendDirect, sendStaged);
  const report: PushReport = { phases: [...directReports, ...stagedReports] };
  let moved = false;
  for (const [i, phase] of staged.entries()) {
    if (o.dryRun || stagedReports[i]!.transfers === 0) continue;
    await renameIntoPlace(rclone, metadataPath, staging, remote, phase, o);
    moved = true;
  }
  if (moved) await rclone.run(['rmdirs', staging]);
  if (o.delete) {
    // Deletions last, newest state first, so a remote never refers to something already gone.
    for (const phase of [...PUSH_PHASES].reverse()) {
      await rclone.run(['sync', phase.staged ? metadataPath : storePath, remote, ...common, ...phaseFilters(phase)]);
    }
    // Staging folders left by interrupted pushes.
    await rclone.run(['delete', remote, '--rmdirs', ...common, '--filter', `+ /${STAGING_PREFIX}*/**`, '--filter', '- **']);
  }
  if (o.verify && !o.dryRun) report.verified = await verifyRemote(rclone, remote);
  return report;
}

/** Both results once both have finished (no rclone left running behind a failure), or the first failure. */
async function settled<A, B>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === 'rejected') throw ra.reason;
  if (rb.status === 'rejected') throw rb.reason;
  return [ra.value, rb.value];
}

/**
 * Moves a phase's staged files to their real names (server-side renames where the remote has them).
 * An immutable phase is one folder whose staged files are what the remote lacked; a mutable one
 * sent every file it has.
 */
async function renameIntoPlace(rclone: Rclone, source: string, staging: string, remote: string, phase: PushPhase, o: TransferOptions): Promise<void> {
  for (const pattern of phase.include) {
    const dir = /^\/(.+)\/\*\*$/.exec(pattern)?.[1];
    const name = dir ?? pattern.slice(1);
    if (!(await fs.stat(join(source, name)).catch(() => null))) continue;
    // --ignore-times: a move would otherwise keep a same-size file already there and drop the new one.
    const flags = ['--ignore-times', ...(o.transfers ? ['--transfers', String(o.transfers)] : [])];
    if (dir) await rclone.run(['move', remoteJoin(staging, dir), remoteJoin(remote, dir), '--delete-empty-src-dirs', ...flags]);
    else await rclone.run(['moveto', remoteJoin(staging, name), remoteJoin(remote, name), ...flags]);
  }
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
