import { resolve } from 'node:path';
import type { Command } from 'commander';
import { EXIT_OK, exitCodeOf } from '../errors.js';
import { formatBytes } from '../units.js';
import { action } from './action.js';
import { collect } from './options.js';
import { printJson } from './output.js';
import { ProgressLine } from './progress.js';

export function registerRestore(program: Command): void {
  program
    .command('restore')
    .description(
      'restore a snapshot into TARGET; every byte is verified; run again after an interruption, it resumes (files already there with the same size and time are kept, partial files removed); other existing files are kept unless --overwrite',
    )
    .argument('<snapshot>', 'snapshot id prefix or "latest"')
    .argument('<target>', 'folder to restore into (created if missing)')
    .option('--include <path>', 'restore only this path of the snapshot (repeatable)', collect, [])
    .option('--overwrite', 'replace files that already exist in TARGET and differ from the snapshot')
    .option('--verify', 'a file already in TARGET with the same size and time counts as restored only if its content matches too (reads it whole)')
    .option('--json', 'machine-readable progress and summary')
    .action(
      action(async (ctx, ref: string, target: string, flags: { include: string[]; overwrite?: boolean; verify?: boolean; json?: boolean }) => {
        const { restore } = await import('../backup/restorer.js');
        return ctx.withStore('restore', false, async (repo) => {
          const snap = await repo.findSnapshot(ref);
          const total = snap.summary?.bytes;
          const progress = ProgressLine.choose(Boolean(flags.json), 'restore');
          const result = await restore(repo, snap.tree, resolve(target), {
            include: flags.include,
            overwrite: Boolean(flags.overwrite),
            verify: Boolean(flags.verify),
            onProgress: (p) => progress.update({ filesDone: p.filesDone, bytesDone: p.bytesDone, bytesTotal: flags.include.length ? undefined : total }),
            onError: (path, err) => {
              progress.done();
              if (flags.json) printJson({ type: 'error', path, message: err.message });
              else process.stderr.write(`sinki: cannot restore ${path}: ${err.message}\n`);
            },
          });
          progress.done();
          if (flags.json)
            printJson({
              type: 'summary',
              snapshot_id: snap.id,
              files: result.files,
              bytes: result.bytes,
              skipped: result.skipped,
              skipped_bytes: result.skippedBytes,
              failed: result.failed,
            });
          else {
            const kept = result.skipped > 0 ? ` (${result.skipped} files, ${formatBytes(result.skippedBytes)} already there, kept)` : '';
            process.stdout.write(
              `restored ${result.files} files, ${formatBytes(result.bytes)} from snapshot ${snap.id.slice(0, 12)} to ${resolve(target)}${kept}\n`,
            );
          }
          if (result.failed > 0) {
            process.stderr.write(
              `sinki: ${result.failed} entries could not be restored${result.corrupt ? ` (${result.corrupt} damaged in the store; run "sinki check --read-data")` : ''}\n`,
            );
            return exitCodeOf(result.corrupt > 0 ? 'CORRUPT' : 'PARTIAL');
          }
          return EXIT_OK;
        });
      }),
    );
}
