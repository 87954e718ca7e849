import { SinkiError } from '../errors.js';
import { executePrune, planPrune, type PrunePlan } from '../repo/prune.js';
import { applyPolicyGrouped, policyIsEmpty, type RetentionPolicy } from '../repo/retention.js';
import { snapshotPath } from '../repo/layout.js';
import type { Repository } from '../repo/repository.js';
import { formatBytes, formatDuration, parseDuration, parsePositiveInt } from '../units.js';
import type { CliContext } from './context.js';
import { printJson } from './output.js';
import { StatusLine } from './progress.js';
import { RunRecorder } from './run-report.js';

export interface ForgetFlags {
  keepLast?: string;
  keepHourly?: string;
  keepDaily?: string;
  keepWeekly?: string;
  keepMonthly?: string;
  keepYearly?: string;
  keepWithin?: string;
  keepTag: string[];
  dryRun?: boolean;
  prune?: boolean;
  maxUnused: string;
  json?: boolean;
}

export interface PruneFlags {
  dryRun?: boolean;
  maxUnused: string;
  json?: boolean;
}

function parseMaxUnused(text: string): number {
  const m = /^(\d+(?:\.\d+)?)%?$/.exec(text.trim());
  const v = m ? Number(m[1]) : Number.NaN;
  if (!(v >= 0 && v <= 100)) throw new SinkiError('USAGE', `--max-unused must be a percentage from 0 to 100, not "${text}"`);
  return v / 100;
}

function describePlan(plan: PrunePlan, dryRun: boolean): string {
  const verb = dryRun ? 'would' : 'will';
  return (
    `${plan.usedBlobs} blobs in use; ${formatBytes(plan.bytesUnusedBefore)} unused\n` +
    `${verb} delete ${plan.deletePacks.length} unused packs and ${plan.unindexedPacks.length} unindexed packs, repack ${plan.repackPacks.length} (${formatBytes(plan.bytesToRepack)} moved), keep ${plan.keptPacks}\n` +
    `${verb} free about ${formatBytes(plan.bytesToFree)}\n`
  );
}

async function pruneStore(repo: Repository, maxUnused: number, dryRun: boolean, json: boolean, rec: RunRecorder): Promise<void> {
  const status = StatusLine.choose(json);
  const started = Date.now();
  // Each step on a line of its own: a prune's steps are few and each may take a while.
  const log = (m: string): void => {
    if (status.live) status.print(`prune: ${m} (${formatDuration((Date.now() - started) / 1000)} elapsed)`);
  };
  const plan = await planPrune(repo, { maxUnused, onProgress: log });
  const summary = {
    type: 'prune',
    dry_run: dryRun,
    used_blobs: plan.usedBlobs,
    delete_packs: plan.deletePacks.length,
    repack_packs: plan.repackPacks.length,
    unindexed_packs: plan.unindexedPacks.length,
    kept_packs: plan.keptPacks,
    bytes_to_free: plan.bytesToFree,
  };
  // prune: bytes freed and packs deleted; forget --prune: snapshots removed, bytes freed, and both summaries.
  if (rec.stats.summary) rec.record({ bytes: plan.bytesToFree, summary: { ...rec.stats.summary, prune: summary } });
  else rec.record({ bytes: plan.bytesToFree, files: plan.deletePacks.length + plan.unindexedPacks.length, errors: 0, summary });
  if (json) printJson(summary);
  else process.stdout.write(describePlan(plan, dryRun));
  if (!dryRun) await executePrune(repo, plan, { maxUnused, onProgress: log });
}

/** `sinki forget` */
export async function runForget(ctx: CliContext, f: ForgetFlags, rec = new RunRecorder()): Promise<void> {
  const n = (v: string | undefined, name: string): number | undefined => (v === undefined ? undefined : parsePositiveInt(v, name, 0));
  const policy: RetentionPolicy = {
    last: n(f.keepLast, '--keep-last'),
    hourly: n(f.keepHourly, '--keep-hourly'),
    daily: n(f.keepDaily, '--keep-daily'),
    weekly: n(f.keepWeekly, '--keep-weekly'),
    monthly: n(f.keepMonthly, '--keep-monthly'),
    yearly: n(f.keepYearly, '--keep-yearly'),
    withinMs: f.keepWithin ? parseDuration(f.keepWithin, '--keep-within') : undefined,
    tags: f.keepTag,
  };
  if (policyIsEmpty(policy)) throw new SinkiError('USAGE', 'no policy given: that would remove every snapshot; give at least one --keep-* option');
  const maxUnused = parseMaxUnused(f.maxUnused);
  return ctx.withStore('forget', !f.dryRun, async (repo) => {
    const groups = applyPolicyGrouped(await repo.listSnapshots(), policy);
    const out: Array<{ id: string; time: string; keep: boolean; reasons: string[] }> = [];
    for (const decisions of groups.values()) {
      const [first] = decisions;
      if (first && !f.json) process.stdout.write(`host ${first.snapshot.host}, paths ${first.snapshot.paths.join(' ')}:\n`);
      for (const d of decisions) {
        out.push({ id: d.snapshot.id, time: d.snapshot.time, keep: d.keep, reasons: d.reasons });
        if (!f.json)
          process.stdout.write(
            `  ${d.keep ? 'keep  ' : 'remove'} ${d.snapshot.id.slice(0, 12)} ${d.snapshot.time.slice(0, 19).replace('T', ' ')}${d.keep ? `  (${d.reasons.join(', ')})` : ''}\n`,
          );
      }
    }
    const remove = out.filter((d) => !d.keep);
    const summary = { type: 'forget', dry_run: Boolean(f.dryRun), snapshots: out };
    rec.record({ files: remove.length, errors: 0, summary });
    if (f.json) printJson(summary);
    if (!f.dryRun && remove.length > 0) {
      await repo.commitGeneration({ exclusive: true, removing: remove.map((d) => snapshotPath(d.id)) });
      for (const d of remove) await repo.backend.remove(snapshotPath(d.id));
    }
    if (!f.json) process.stdout.write(`${f.dryRun ? 'would remove' : 'removed'} ${remove.length} of ${out.length} snapshots\n`);
    if (f.prune) await pruneStore(repo, maxUnused, Boolean(f.dryRun), Boolean(f.json), rec);
    else if (!f.dryRun) await repo.commitState({ exclusive: true });
  });
}

/** `sinki prune` */
export async function runPrune(ctx: CliContext, f: PruneFlags, rec = new RunRecorder()): Promise<void> {
  const maxUnused = parseMaxUnused(f.maxUnused);
  return ctx.withStore('prune', !f.dryRun, (repo) => pruneStore(repo, maxUnused, Boolean(f.dryRun), Boolean(f.json), rec));
}

/** `sinki compact`: compress what mounts left uncompressed (their backlog on this machine), then prune. */
export async function runCompact(ctx: CliContext, f: PruneFlags): Promise<void> {
  const maxUnused = parseMaxUnused(f.maxUnused);
  const { CompressionBacklog } = await import('../fuse/backlog.js');
  return ctx.withStore('compact', true, async (repo) => {
    const backlog = CompressionBacklog.forStore(ctx.cacheRoot(), repo.config.id);
    const ids = (await backlog.load()).filter((id) => repo.isStoredRaw(id));
    for (const id of ids) await repo.recompressBlob(id);
    await repo.flush();
    await backlog.save([]);
    if (!f.json) process.stdout.write(`compressed ${ids.length} chunks that a mount had stored uncompressed\n`);
    await pruneStore(repo, maxUnused, false, Boolean(f.json), new RunRecorder());
  });
}
