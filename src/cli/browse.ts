import type { Command } from 'commander';
import { action } from './action.js';

export function registerBrowse(program: Command): void {
  program
    .command('snapshots')
    .description('list the snapshots in the store')
    .option('--json', 'print as JSON')
    .action(action(async (ctx, flags: { json?: boolean }) => (await import('./browse-run.js')).listSnapshots(ctx, flags)));

  program
    .command('ls')
    .description('list the files of a snapshot (recursively below PATH)')
    .argument('<snapshot>', 'snapshot id prefix or "latest"')
    .argument('[path]', 'folder or file inside the snapshot', '')
    .option('-l, --long', 'mode, size and time too')
    .option('--json', 'one JSON object per entry')
    .action(
      action(async (ctx, ref: string, path: string, flags: { long?: boolean; json?: boolean }) =>
        (await import('./browse-run.js')).listFiles(ctx, ref, path, flags),
      ),
    );

  program
    .command('cat')
    .description("write a file's contents from a snapshot to stdout (verified)")
    .argument('<snapshot>', 'snapshot id prefix or "latest"')
    .argument('<file>', 'path of the file inside the snapshot')
    .action(action(async (ctx, ref: string, file: string) => (await import('./browse-run.js')).catFile(ctx, ref, file)));

  program
    .command('manifest')
    .description('print the SHA-256 of every file of a snapshot, in `sha256sum -c` format (paths relative to the restore target)')
    .argument('<snapshot>', 'snapshot id prefix or "latest"')
    .action(action(async (ctx, ref: string) => (await import('./browse-run.js')).printManifest(ctx, ref)));

  program
    .command('versions')
    .description(
      'every version of one file across all snapshots (one per distinct content, named by the time of the oldest snapshot holding it; deleted files too); the mount shows them under /.versions/PATH/',
    )
    .argument('<path>', 'path of the file inside the snapshots, as "sinki ls latest" shows it')
    .option('--json', 'one JSON object per version')
    .action(action(async (ctx, path: string, flags: { json?: boolean }) => (await import('./browse-run.js')).listVersions(ctx, path, flags)));

  program
    .command('find')
    .description('find files and folders by name in every snapshot (a glob: * and ?), with how many versions each had and when; exit 14 when nothing matches')
    .argument('<pattern>', 'a glob matched against names, as find -name does (quote it)')
    .option('--json', 'one JSON object per match')
    .action(action(async (ctx, pattern: string, flags: { json?: boolean }) => (await import('./browse-run.js')).findPaths(ctx, pattern, flags)));
}
