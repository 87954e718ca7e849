import type { Command } from 'commander';
import { subsetSelector } from '../repo/check-subset.js';
import { action } from './action.js';
import { EXIT_OK, exitCodeOf } from '../errors.js';
import type { CliContext } from './context.js';
import { printJson } from './output.js';
import { StatusLine } from './progress.js';
import { formatDuration } from '../units.js';
import { reportOptions, withRunReport, type ReportFlags, type RunRecorder } from './run-report.js';

interface CheckFlags {
  readData?: boolean;
  readDataSubset?: string;
  json?: boolean;
}

export function registerCheck(program: Command): void {
  const cmd = program
    .command('check')
    .description('check the store: structure always; with --read-data every pack and blob too')
    .option('--read-data', 'read every pack: its SHA-256 must equal its name and every blob must open and decompress')
    .option('--read-data-subset <x/y|N%>', 'read only part of the packs: group x of y (e.g. 3/7 on the third day of a weekly cycle) or a random N%')
    .option('--json', 'print the result as JSON (problems and notes in it, not on stderr)');
  reportOptions(cmd).action(
    action(async (ctx, flags: CheckFlags & ReportFlags) => {
      const readPack = flags.readDataSubset ? subsetSelector(flags.readDataSubset) : undefined;
      if (readPack) flags.readData = true;
      return withRunReport('check', ctx, flags, (rec) => runCheck(ctx, flags, readPack, rec));
    }),
  );
}

async function runCheck(ctx: CliContext, flags: CheckFlags, readPack: ((packId: string) => boolean) | undefined, rec: RunRecorder): Promise<number> {
  const { checkStore } = await import('../repo/check.js');
  return ctx.withStore(
    'check',
    false,
    async (repo) => {
      const status = StatusLine.choose(Boolean(flags.json));
      const notes: string[] = [];
      const started = Date.now();
      const report = await checkStore(repo, {
        readData: Boolean(flags.readData),
        readPack,
        onProblem: (m) => void (!flags.json && status.print(`error: ${m}`)),
        onNote: (m) => (flags.json ? void notes.push(m) : status.print(`note: ${m}`)),
        onPackChecked: (done, total) => {
          const elapsed = (Date.now() - started) / 1000;
          const eta = done > 0 ? ((total - done) * elapsed) / done : Number.NaN;
          status.update(
            `check: read ${done}/${total} packs  ${((100 * done) / Math.max(1, total)).toFixed(1)}%  ETA ${formatDuration(eta)}  ${formatDuration(elapsed)} elapsed`,
            done === total,
          );
        },
      });
      status.done();
      const summary = {
        type: 'check',
        ok: report.problems.length === 0,
        read_data: Boolean(flags.readData),
        snapshots: report.snapshots,
        packs: report.packs,
        unreferenced_packs: report.unreferencedPacks,
        blobs_checked: report.blobsChecked,
        problems: report.problems,
        notes,
      };
      rec.record({ files: report.packs, errors: report.problems.length, summary });
      if (flags.json) printJson(summary);
      else {
        const unreferenced = report.unreferencedPacks.length ? `, ${report.unreferencedPacks.length} unreferenced (garbage for prune)` : '';
        const what = `${report.snapshots} snapshots, ${report.packs} packs${unreferenced}${flags.readData ? `, ${report.blobsChecked} blobs read` : ''}`;
        process.stdout.write(report.problems.length === 0 ? `no errors were found (${what})\n` : `${report.problems.length} problem(s) found (${what})\n`);
      }
      return report.problems.length === 0 ? EXIT_OK : exitCodeOf('CORRUPT');
    },
    { quietKeys: true, repo: { skipIndex: true } },
  ); // checkStore loads the index itself and reports every damaged segment
}
