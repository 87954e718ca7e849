import { promises as fs } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EXIT_OK, exitCodeOf, SinkiError } from '../errors.js';
import { backup, findParent, type BackupProgress } from '../backup/archiver.js';
import { pull } from '../remote/push.js';
import type { Repository } from '../repo/repository.js';
import { formatBytes, formatDuration, parsePositiveInt } from '../units.js';
import type { CliContext } from './context.js';
import { printJson, warnLine } from './output.js';
import { ProgressLine } from './progress.js';
import { RunRecorder } from './run-report.js';

export interface BackupFlags {
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

/** `sinki backup`: local paths, or a remote pulled into a private staging folder first. */
export async function runBackup(ctx: CliContext, paths: string[], flags: BackupFlags, rec = new RunRecorder()): Promise<number> {
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
        return await backupSources(repo, sources, flags, excludes, rec);
      } finally {
        if (staging) await fs.rm(staging, { recursive: true, force: true });
      }
    },
    { repo: { verifyWrites: Boolean(flags.verifyWrites) } },
  );
}

async function backupSources(repo: Repository, sources: string[], flags: BackupFlags, excludes: string[], rec: RunRecorder): Promise<number> {
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
    ...(progress.wanted
      ? {
          onProgress: (p: BackupProgress) =>
            progress.update({ filesDone: p.filesDone, bytesDone: p.bytesDone, filesTotal: p.totals?.files, bytesTotal: p.totals?.bytes }),
        }
      : {}),
  });
  progress.done();
  const s = result.snapshot.summary!;
  const summary = {
    type: 'summary',
    snapshot_id: result.id,
    parent: parent?.id ?? null,
    files: s.files,
    files_new: s.filesNew ?? 0,
    files_changed: s.filesChanged ?? 0,
    files_unchanged: s.filesUnchanged ?? 0,
    dirs: s.dirs,
    bytes: s.bytes,
    new_bytes: s.newBytes,
    stored_bytes: s.storedBytes,
    packs_written: s.packsWritten,
    duration_ms: s.durationMs,
    warnings: result.warnings,
  };
  rec.record({ bytes: s.bytes, files: s.files, errors: result.warnings, summary });
  if (flags.json) {
    printJson(summary);
  } else {
    process.stdout.write(
      `snapshot ${result.id.slice(0, 12)} saved${parent ? ` (parent ${parent.id.slice(0, 12)})` : ''}\n` +
        `  ${s.files} files, ${s.dirs} dirs, ${formatBytes(s.bytes)} in ${formatDuration(s.durationMs / 1000)}\n` +
        `  files: ${s.filesNew ?? 0} new, ${s.filesChanged ?? 0} changed, ${s.filesUnchanged ?? 0} unchanged\n` +
        `  new data ${formatBytes(s.newBytes)}, stored ${formatBytes(s.storedBytes)} in ${s.packsWritten} packs\n`,
    );
    if (result.warnings > 0) process.stderr.write(`sinki: ${result.warnings} entries could not be read; the snapshot holds everything else\n`);
  }
  return result.warnings > 0 ? exitCodeOf('PARTIAL') : EXIT_OK;
}
