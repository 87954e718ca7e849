import { SinkiError } from '../errors.js';
import { isObjectId } from '../repo/layout.js';
import { parseStatsLine, type Rclone, type TransferStats } from '../rclone/rclone.js';

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

/**
 * Upload order keeps the remote a consistent store at every moment: nothing is uploaded before
 * what it refers to (packs → index → snapshots → refs and SHA256SUMS). Locks and temp files stay home.
 */
export const PUSH_PHASES: ReadonlyArray<{ name: string; include: string[] }> = [
  { name: 'config', include: ['/sinki.json', '/keys/**'] },
  { name: 'packs', include: ['/packs/**'] },
  { name: 'index', include: ['/index/**'] },
  { name: 'snapshots', include: ['/snapshots/**'] },
  { name: 'refs', include: ['/refs/**', '/SHA256SUMS'] },
];

export function transferFlags(o: TransferOptions): string[] {
  const flags = ['--use-json-log', '--stats', '1s', '--stats-log-level', 'NOTICE', '--exclude', '**/.tmp-*'];
  if (o.bwlimit) flags.push('--bwlimit', o.bwlimit);
  if (o.transfers) flags.push('--transfers', String(o.transfers));
  return flags;
}

function phaseArgs(phase: { include: string[] }): string[] {
  return phase.include.flatMap((p) => ['--include', p]);
}

export interface PushReport {
  phases: Array<{ name: string; bytes: number; transfers: number }>;
  verified?: { objects: number; bad: string[] };
}

export async function push(rclone: Rclone, storePath: string, remote: string, o: PushOptions): Promise<PushReport> {
  const report: PushReport = { phases: [] };
  const common = [...transferFlags(o), ...(o.dryRun ? ['--dry-run'] : [])];
  for (const phase of PUSH_PHASES) {
    let last: TransferStats | null = null;
    await rclone.run(['copy', storePath, remote, ...common, ...phaseArgs(phase)], (line) => {
      const s = parseStatsLine(line);
      if (!s) return;
      last = s;
      o.onStats?.(phase.name, s);
    });
    const done = last as TransferStats | null;
    report.phases.push({ name: phase.name, bytes: done?.bytes ?? 0, transfers: done?.transfers ?? 0 });
  }
  if (o.delete) {
    // Deletions last, newest state first, so a remote never refers to something already gone.
    for (const phase of [...PUSH_PHASES].reverse()) await rclone.run(['sync', storePath, remote, ...common, ...phaseArgs(phase)]);
  }
  if (o.verify && !o.dryRun) report.verified = await verifyRemote(rclone, remote);
  return report;
}

/** Every pack, index and snapshot object on the remote: its SHA-256 must equal its name. */
export async function verifyRemote(rclone: Rclone, remote: string): Promise<{ objects: number; bad: string[] }> {
  const bad: string[] = [];
  let objects = 0;
  const base = remote.endsWith(':') || remote.endsWith('/') ? remote : `${remote}/`;
  for (const dir of ['packs', 'index', 'snapshots']) {
    let out: string;
    try {
      out = (await rclone.run(['hashsum', 'sha256', `${base}${dir}`])).stdout.toString();
    } catch (err) {
      if (err instanceof SinkiError && /not found/i.test(err.message)) continue;
      if (!(err instanceof SinkiError && /hash.*not supported|unsupported/i.test(err.message))) throw err;
      out = (await rclone.run(['hashsum', 'sha256', '--download', `${base}${dir}`])).stdout.toString();
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
  await rclone.run(['copy', remote, target, ...transferFlags(o), '--links', '--create-empty-src-dirs'], (line) => {
    const s = parseStatsLine(line);
    if (s) o.onStats?.('pull', s);
  });
}
