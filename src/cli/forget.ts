import type { Command } from 'commander';
import { action } from './action.js';
import type { ForgetFlags, PruneFlags } from './forget-run.js';
import { collect } from './options.js';
import { reportOptions, withRunReport, type ReportFlags } from './run-report.js';

export function registerForget(program: Command): void {
  const forget = program
    .command('forget')
    .description('remove snapshots by a retention policy (grouped by host and paths); --prune then frees their data')
    .option('--keep-last <n>', 'keep the newest N snapshots')
    .option('--keep-hourly <n>', 'keep the newest snapshot of each of the last N hours that have one')
    .option('--keep-daily <n>', 'likewise for days')
    .option('--keep-weekly <n>', 'likewise for ISO weeks')
    .option('--keep-monthly <n>', 'likewise for months')
    .option('--keep-yearly <n>', 'likewise for years')
    .option('--keep-within <duration>', 'keep everything newer than this before the newest snapshot (e.g. 30d)')
    .option('--keep-tag <tag>', 'keep snapshots with this tag (repeatable)', collect, [])
    .option('--dry-run', 'show what would be removed; change nothing')
    .option('--prune', 'prune afterwards')
    .option('--max-unused <percent>', 'with --prune: repack packs with more unused space than this', '10%')
    .option('--json', 'print as JSON');
  reportOptions(forget).action(
    action(async (ctx, flags: ForgetFlags & ReportFlags) => {
      const { runForget } = await import('./forget-run.js');
      return withRunReport('forget', ctx, flags, (rec) => runForget(ctx, flags, rec));
    }),
  );

  const prune = program
    .command('prune')
    .description('free the space of data no snapshot uses: delete unused packs, repack mostly unused ones; the new index is durable before anything is deleted')
    .option('--dry-run', 'show what would be done')
    .option('--max-unused <percent>', 'repack packs with more unused space than this', '10%')
    .option('--json', 'print as JSON');
  reportOptions(prune).action(
    action(async (ctx, flags: PruneFlags & ReportFlags) => {
      const { runPrune } = await import('./forget-run.js');
      return withRunReport('prune', ctx, flags, (rec) => runPrune(ctx, flags, rec));
    }),
  );

  program
    .command('compact')
    .description('compress the chunks a mount stored uncompressed and had not compressed by unmount (the next mount also does, when idle), then prune')
    .option('--max-unused <percent>', 'repack packs with more unused space than this', '10%')
    .option('--json', 'print as JSON')
    .action(action(async (ctx, flags: PruneFlags) => (await import('./forget-run.js')).runCompact(ctx, flags)));
}
