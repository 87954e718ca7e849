import type { Command } from 'commander';
import { EXIT_OK, exitCodeOf } from '../errors.js';
import { action } from './action.js';
import { printJson } from './output.js';
import { StatusLine } from './progress.js';

export function registerRepair(program: Command): void {
  const repair = program.command('repair').description('repair parts of a damaged store');
  repair
    .command('index')
    .description('rebuild the index from the pack headers (when index segments are damaged or lost)')
    .option('--json', 'print as JSON (damaged packs in it, not on stderr)')
    .action(
      action(async (ctx, flags: { json?: boolean }) => {
        const { repairIndex } = await import('../repo/repair.js');
        return ctx.withStore(
          'repair index',
          true,
          async (repo) => {
            const status = StatusLine.choose(Boolean(flags.json));
            const report = await repairIndex(repo, (done, total) => status.update(`repair: read ${done}/${total} pack headers`, done === total));
            status.done();
            if (flags.json) {
              printJson({
                type: 'repair-index',
                packs: report.packs,
                blobs: report.blobs,
                damaged: report.damaged.map((d) => ({ pack: d.packId, kept_blobs: d.keptBlobs, reason: d.reason })),
              });
              return report.damaged.length ? exitCodeOf('CORRUPT') : EXIT_OK;
            }
            for (const d of report.damaged) {
              const fate = d.keptBlobs ? `its ${d.keptBlobs} blob(s) kept as the old index knew them` : 'left out';
              process.stderr.write(`sinki: pack ${d.packId} ${fate}: ${d.reason.replace(`pack ${d.packId}: `, '')}\n`);
            }
            process.stdout.write(
              `index rebuilt: ${report.packs} packs, ${report.blobs} blobs${report.damaged.length ? `; ${report.damaged.length} damaged packs (run "sinki check --read-data" to see what they affect)` : ''}\n`,
            );
            return report.damaged.length ? exitCodeOf('CORRUPT') : EXIT_OK;
          },
          { repo: { tolerateDamagedIndex: true } },
        );
      }),
    );
}
