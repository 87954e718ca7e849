import { promises as fs } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pull } from '../remote/push.js';
import type { Command } from 'commander';
import { SinkiError } from '../errors.js';
import { backup, findParent, type BackupProgress } from '../backup/archiver.js';
import type { Repository } from '../repo/repository.js';
import { formatBytes, formatDuration, parsePositiveInt } from '../units.js';
import { action } from './action.js';
import { printJson, warnLine } from './output.js';
import { ProgressLine } from './progress.js';

interface BackupFlags {
  tag: string[];
  exclude: string[];
  excludeFile: string[];
  json?: boolean;
  verifyWrites?: boolean;
  force?: boolean;
  from?: string;
  bwlimit?: string;
  transfers?: string;
}

/** A remote's last path element, as the name of its folder in the snapshot. */
export function remoteBaseName(remote: string): string {
  return remote.replace(/\/+$/, '').split(/[:/]/).filter(Boolean).pop() ?? 'remote';
}

export const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerBackup(program: Command): void {
  program
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
    .option('--force', 're-read every file instead of reusing unchanged ones from the parent snapshot')
    .action(
      action(async (ctx, paths: string[], flags: BackupFlags) => {
        const excludes = [...flags.exclude];
        for (const f of flags.excludeFile) {
          try {
            excludes.push(...(await fs.readFile(f, 'utf8')).split('\n'));
          } catch {
            throw new SinkiError('USAGE', `cannot read --exclude-file ${f}`);
          }
        }
        if (flags.from && paths.length > 0) throw new SinkiError('USAGE', 'give either --from REMOTE:PATH or local paths, not both');
        if (!flags.from && paths.length === 0) throw new SinkiError('USAGE', 'nothing to back up: give one or more paths, or --from REMOTE:PATH');
        return ctx.withStore(
          'backup',
          false,
          async (repo) => {
            let staging: string | null = null;
            try {
              let sources = paths.map((p) => resolve(p));
              if (flags.from) {
                staging = await fs.mkdtemp(join(tmpdir(), 'sinki-pull-'));
                await fs.chmod(staging, 0o700);
                const progress = ProgressLine.choose(Boolean(flags.json), `pull ${flags.from}`);
                await pull(ctx.rclone(), flags.from, staging, {
                  bwlimit: flags.bwlimit,
                  transfers: flags.transfers ? parsePositiveInt(flags.transfers, '--transfers', 1, 256) : undefined,
                  onStats: (_phase, s) => progress.update({ filesDone: s.transfers, bytesDone: s.bytes, filesTotal: s.totalTransfers, bytesTotal: s.totalBytes }),
                });
                progress.done();
                sources = [staging];
              }
              return await runBackup(repo, sources, flags, excludes);
            } finally {
              if (staging) await fs.rm(staging, { recursive: true, force: true });
            }
          },
          { repo: { verifyWrites: Boolean(flags.verifyWrites) } },
        );
      }),
    );
}

async function runBackup(repo: Repository, sources: string[], flags: BackupFlags, excludes: string[]): Promise<number> {
  const recorded = flags.from ? [flags.from] : sources;
  const parent = flags.force ? null : findParent(await repo.listSnapshots(), hostname(), recorded);
  const progress = ProgressLine.choose(Boolean(flags.json), 'backup');
  const result = await backup(repo, {
    paths: sources,
    ...(flags.from ? { recordedPaths: recorded, sourceNames: [remoteBaseName(flags.from)], reuseBySizeAndMtime: true } : {}),
    tags: flags.tag,
    excludes,
    parent,
    onWarning: (path, message) => {
      progress.done();
      if (flags.json) printJson({ type: 'warning', path, message });
      else warnLine(`${path}: ${message}`);
    },
    // Without a progress line nobody needs the totals, and counting them is a second walk of the sources.
    ...(flags.json || process.stderr.isTTY
      ? { onProgress: (p: BackupProgress) => progress.update({ filesDone: p.filesDone, bytesDone: p.bytesDone, filesTotal: p.totals?.files, bytesTotal: p.totals?.bytes }) }
      : {}),
  });
  progress.done();
  const s = result.snapshot.summary!;
  if (flags.json) {
    printJson({ type: 'summary', snapshot_id: result.id, parent: parent?.id ?? null, files: s.files, dirs: s.dirs, bytes: s.bytes, new_bytes: s.newBytes, stored_bytes: s.storedBytes, packs_written: s.packsWritten, duration_ms: s.durationMs, warnings: result.warnings });
  } else {
    process.stdout.write(
      `snapshot ${result.id.slice(0, 12)} saved${parent ? ` (parent ${parent.id.slice(0, 12)})` : ''}\n` +
        `  ${s.files} files, ${s.dirs} dirs, ${formatBytes(s.bytes)} in ${formatDuration(s.durationMs / 1000)}\n` +
        `  new data ${formatBytes(s.newBytes)}, stored ${formatBytes(s.storedBytes)} in ${s.packsWritten} packs\n`,
    );
    if (result.warnings > 0) process.stderr.write(`sinki: ${result.warnings} entries could not be read; the snapshot holds everything else\n`);
  }
  return result.warnings > 0 ? 3 : 0;
}
