import type { Command } from 'commander';
import { subsetSelector } from '../repo/check-subset.js';
import { action } from './action.js';
import { EXIT_OK, exitCodeOf } from '../errors.js';

export function registerCheck(program: Command): void {
  program
    .command('check')
    .description('check the store: structure always; with --read-data every pack and blob too')
    .option('--read-data', "read every pack: its SHA-256 must equal its name and every blob must open and decompress")
    .option('--read-data-subset <x/y|N%>', 'read only part of the packs: group x of y (e.g. 3/7 on the third day of a weekly cycle) or a random N%')
    .action(
      action(async (ctx, flags: { readData?: boolean; readDataSubset?: string }) => {
        const readPack = flags.readDataSubset ? subsetSelector(flags.readDataSubset) : undefined;
        if (readPack) flags.readData = true;
        const { checkStore } = await import('../repo/check.js');
        return ctx.withStore('check', false, async (repo) => {
          const tty = process.stderr.isTTY;
          const report = await checkStore(repo, {
            readData: Boolean(flags.readData),
            readPack,
            onProblem: (m) => process.stderr.write(`${tty ? '\r\x1b[K' : ''}error: ${m}\n`),
            onNote: (m) => process.stderr.write(`${tty ? '\r\x1b[K' : ''}note: ${m}\n`),
            onPackChecked: (done, total) => {
              if (tty) process.stderr.write(`\r\x1b[Kread ${done}/${total} packs`);
            },
          });
          if (tty) process.stderr.write('\r\x1b[K');
          const unreferenced = report.unreferencedPacks.length ? `, ${report.unreferencedPacks.length} unreferenced (garbage for prune)` : '';
          const what = `${report.snapshots} snapshots, ${report.packs} packs${unreferenced}${flags.readData ? `, ${report.blobsChecked} blobs read` : ''}`;
          if (report.problems.length === 0) {
            process.stdout.write(`no errors were found (${what})\n`);
            return EXIT_OK;
          }
          process.stdout.write(`${report.problems.length} problem(s) found (${what})\n`);
          return exitCodeOf('CORRUPT');
        }, { quietKeys: true, repo: { skipIndex: true } }); // checkStore loads the index itself and reports every damaged segment
      }),
    );
}
