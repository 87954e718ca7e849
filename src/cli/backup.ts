import type { Command } from 'commander';
import { action } from './action.js';
import type { BackupFlags } from './backup-run.js';
import { collect } from './options.js';
import { reportOptions, withRunReport, type ReportFlags } from './run-report.js';

export function registerBackup(program: Command): void {
  const cmd = program
    .command('backup')
    .description('back up files and folders into the store as a new snapshot (incremental against the last one of the same paths)')
    .argument('[path...]', 'files or folders to back up')
    .option('--from <remote>', 'first pull this rclone REMOTE:PATH into a private staging folder, back that up, then remove it')
    .option('--bwlimit <limit>', 'with --from: rclone bandwidth limit (e.g. 10M or a timetable)')
    .option('--transfers <n>', 'with --from: files fetched in parallel')
    .option('--tag <tag>', 'tag the snapshot (repeatable)', collect, [])
    .option('--exclude <glob>', 'skip matching entries (repeatable; * ? ** ; a pattern with / matches the path below the source)', collect, [])
    .option('--exclude-file <file>', 'read exclude globs from a file, one per line (repeatable)', collect, [])
    .option('--json', 'machine-readable progress and summary on stdout (JSON lines)')
    .option('--verify-writes', 'decompress and re-hash every blob before its pack is written')
    .option('--force', 're-read every file instead of reusing unchanged ones from the parent snapshot');
  reportOptions(cmd).action(
    action(async (ctx, paths: string[], flags: BackupFlags & ReportFlags) => {
      const { runBackup } = await import('./backup-run.js');
      return withRunReport('backup', ctx, flags, (rec) => runBackup(ctx, paths, flags, rec));
    }),
  );
}
