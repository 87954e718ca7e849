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
    .description('restore a snapshot into TARGET; every byte is verified, existing files are kept unless --overwrite')
    .argument('<snapshot>', 'snapshot id prefix or "latest"')
    .argument('<target>', 'folder to restore into (created if missing)')
    .option('--include <path>', 'restore only this path of the snapshot (repeatable)', collect, [])
    .option('--overwrite', 'replace files that already exist in TARGET')
    .option('--json', 'machine-readable progress and summary')
    .action(
      action(async (ctx, ref: string, target: string, flags: { include: string[]; overwrite?: boolean; json?: boolean }) => {
        const { restore } = await import('../backup/restorer.js');
        return ctx.withStore('restore', false, async (repo) => {
          const snap = await repo.findSnapshot(ref);
          const total = snap.summary?.bytes;
          const progress = ProgressLine.choose(Boolean(flags.json), 'restore');
          const result = await restore(repo, snap.tree, resolve(target), {
            include: flags.include,
            overwrite: Boolean(flags.overwrite),
            onProgress: (p) => progress.update({ filesDone: p.filesDone, bytesDone: p.bytesDone, bytesTotal: flags.include.length ? undefined : total }),
            onError: (path, err) => {
              progress.done();
              if (flags.json) printJson({ type: 'error', path, message: err.message });
              else process.stderr.write(`sinki: cannot restore ${path}: ${err.message}\n`);
            },
          });
          progress.done();
          if (flags.json) printJson({ type: 'summary', snapshot_id: snap.id, files: result.files, bytes: result.bytes, failed: result.failed });
          else process.stdout.write(`restored ${result.files} files, ${formatBytes(result.bytes)} from snapshot ${snap.id.slice(0, 12)} to ${resolve(target)}\n`);
          if (result.failed > 0) {
            process.stderr.write(`sinki: ${result.failed} entries could not be restored${result.corrupt ? ` (${result.corrupt} damaged in the store; run "sinki check --read-data")` : ''}\n`);
            return exitCodeOf(result.corrupt > 0 ? 'CORRUPT' : 'PARTIAL');
          }
          return EXIT_OK;
        });
      }),
    );
}
