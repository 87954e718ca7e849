import type { Command } from 'commander';
import { EXIT_OK, exitCodeOf, SinkiError } from '../errors.js';
import { isRcloneLocation } from '../backend/rclone.js';
import { formatBytes, formatDuration, parsePositiveInt } from '../units.js';
import { action } from './action.js';
import type { CliContext } from './context.js';
import { printJson } from './output.js';
import { StatusLine } from './progress.js';
import { reportOptions, withRunReport, type ReportFlags, type RunRecorder } from './run-report.js';

interface PushFlags {
  bwlimit?: string;
  transfers?: string;
  dryRun?: boolean;
  delete?: boolean;
  verify?: boolean;
  json?: boolean;
}

export function registerPush(program: Command): void {
  const cmd = program
    .command('push')
    .description('mirror the store to any rclone remote (packs, then index, then snapshots, then refs: the remote is a consistent store at every moment)')
    .argument('<remote>', 'REMOTE:PATH as rclone names it (e.g. gdrive:backups/sinki, s3:bucket/sinki, /mnt/usb/sinki)')
    .option('--bwlimit <limit>', 'bandwidth limit in rclone syntax: 10M, or a timetable such as "08:00,512k 19:00,10M"')
    .option('--transfers <n>', 'files uploaded in parallel (rclone default 4)')
    .option('--dry-run', 'show what would be sent; send nothing')
    .option(
      '--delete',
      'also delete remote files the local store no longer has (after the new state is up); key files removed here are removed there on every push',
    )
    .option('--verify', 'check every remote pack, index and snapshot: its SHA-256 must equal its name')
    .option('--json', 'machine-readable progress and summary');
  reportOptions(cmd).action(
    action(async (ctx, remote: string, flags: PushFlags & ReportFlags) => withRunReport('push', ctx, flags, (rec) => runPush(ctx, remote, flags, rec))),
  );
}

async function runPush(ctx: CliContext, remote: string, flags: PushFlags, rec: RunRecorder): Promise<number> {
  if (isRcloneLocation(ctx.storeLocation())) throw new SinkiError('USAGE', 'push needs a local store (-s PATH); the target is the argument');
  const rclone = ctx.rclone();
  const transfers = flags.transfers ? parsePositiveInt(flags.transfers, '--transfers', 1, 256) : undefined;
  const options = { bwlimit: flags.bwlimit, transfers, dryRun: flags.dryRun, delete: flags.delete, verify: flags.verify };
  const [{ RcloneDaemon }, { daemonFlags, push }] = await Promise.all([import('../rclone/rcd.js'), import('../remote/push.js')]);
  // rclone starts while the store opens: one daemon for every operation of the push.
  const daemon = RcloneDaemon.start(rclone, daemonFlags(options));
  daemon.catch(() => undefined); // reported where it is awaited (or moot when the store cannot be opened)
  const started = Date.now();
  try {
    return await ctx.withStore(
      'push',
      false,
      async (repo) => {
        const status = StatusLine.choose(Boolean(flags.json));
        const report = await push(await daemon, repo.backend.location, remote, {
          ...options,
          keys: repo.keys,
          onStats: (phase, s) => {
            if (flags.json)
              printJson({
                type: 'progress',
                phase,
                bytes: s.bytes,
                total_bytes: s.totalBytes,
                bytes_per_second: Math.round(s.speed),
                eta_seconds: s.eta,
                transfers: s.transfers,
                total_transfers: s.totalTransfers,
              });
            else
              status.update(
                `push ${phase}: ${formatBytes(s.bytes)} / ${formatBytes(s.totalBytes)}  ${s.transfers}/${s.totalTransfers} files  ${formatBytes(s.speed)}/s  ETA ${formatDuration(s.eta ?? Number.NaN)}  ${formatDuration((Date.now() - started) / 1000)} elapsed`,
              );
          },
        });
        status.done();
        const bytes = report.phases.reduce((a, p) => a + p.bytes, 0);
        const files = report.phases.reduce((a, p) => a + p.transfers, 0);
        const summary = {
          type: 'summary',
          remote,
          dry_run: Boolean(flags.dryRun),
          bytes,
          files,
          phases: report.phases,
          verified: report.verified ?? null,
          duration_ms: Date.now() - started,
        };
        rec.record({ bytes, files, errors: report.verified?.bad.length ?? 0, summary });
        if (flags.json) printJson(summary);
        else {
          process.stdout.write(
            `${flags.dryRun ? 'would push' : 'pushed'} ${files} files, ${formatBytes(bytes)} to ${remote} in ${formatDuration((Date.now() - started) / 1000)}\n`,
          );
          if (report.verified)
            process.stdout.write(
              `verified ${report.verified.objects} remote objects: ${report.verified.bad.length ? `${report.verified.bad.length} DAMAGED` : 'all match their names'}\n`,
            );
        }
        if (report.verified?.bad.length) {
          for (const b of report.verified.bad) process.stderr.write(`sinki: remote ${b} does not match its name (damaged in transit or on the remote)\n`);
          return exitCodeOf('CORRUPT');
        }
        return EXIT_OK;
      },
      { repo: { skipIndex: true } },
    );
  } finally {
    (await daemon.catch(() => null))?.close();
  }
}
