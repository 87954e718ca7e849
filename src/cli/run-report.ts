import { resolve } from 'node:path';
import type { Command } from 'commander';
import { isRcloneLocation } from '../backend/rclone.js';
import type { CliContext } from './context.js';
import { parseDuration } from '../units.js';
import { runHook } from './hooks.js';
import { checkMetricsFile, writeMetricsFile } from './metrics.js';
import { errorExitCode, warnLine } from './output.js';

/** --metrics-file, --on-success, --on-failure, --hook-timeout: for backup, push, check, forget and prune. */
export interface ReportFlags {
  metricsFile?: string;
  onSuccess?: string;
  onFailure?: string;
  hookTimeout: string;
}

export const DEFAULT_HOOK_TIMEOUT = '60s';

export function reportOptions(cmd: Command): Command {
  return cmd
    .option(
      '--metrics-file <path>',
      "write Prometheus textfile-collector metrics of this run (time, duration, bytes, files, errors) to this file, atomically; other commands' metrics in it are kept",
    )
    .option('--on-success <cmd>', 'run this through /bin/sh when the command succeeds, with the summary JSON on its stdin (see docs/JSON.md, "hooks")')
    .option('--on-failure <cmd>', 'likewise when it fails')
    .option('--hook-timeout <duration>', 'stop a hook that runs longer than this', DEFAULT_HOOK_TIMEOUT);
}

/** What a command tells its report: the numbers the metrics carry, and its own summary for the hooks. */
export interface RunStats {
  bytes?: number;
  files?: number;
  errors?: number;
  summary?: Record<string, unknown>;
}

export class RunRecorder {
  stats: RunStats = {};
  record(stats: RunStats): void {
    this.stats = { ...this.stats, ...stats };
  }
}

/** The JSON a hook reads on stdin (schema "hook" in src/cli/json-schema.ts). */
export interface HookSummary {
  command: string;
  store: string | null;
  ok: boolean;
  exit_code: number;
  error: string | null;
  started: string;
  duration_ms: number;
  bytes: number | null;
  files: number | null;
  errors: number | null;
  summary: Record<string, unknown> | null;
}

/**
 * Runs a command's body and then reports it: metrics file, then the success or failure hook. The
 * command's exit code (or its error) is what it would have been without them; a hook or metrics
 * file that fails is one warning line. Flags are checked before the body runs.
 */
export async function withRunReport(
  command: string,
  ctx: CliContext,
  flags: ReportFlags,
  body: (rec: RunRecorder) => Promise<number | void>,
): Promise<number | void> {
  const hookTimeoutMs = parseDuration(flags.hookTimeout, '--hook-timeout');
  if (flags.metricsFile) await checkMetricsFile(flags.metricsFile);
  const started = new Date();
  const rec = new RunRecorder();
  let code: number;
  let failure: unknown = null;
  try {
    code = (await body(rec)) ?? 0;
  } catch (err) {
    failure = err;
    code = errorExitCode(err);
  }
  const finished = Date.now();
  const ok = code === 0;
  let storeName: string | null = null;
  try {
    const location = ctx.storeLocation();
    storeName = isRcloneLocation(location) ? location : resolve(location);
  } catch {
    // no store given: that is the failure being reported
  }
  const s = rec.stats;
  if (flags.metricsFile) {
    await writeMetricsFile(flags.metricsFile, {
      command,
      store: storeName ?? '',
      ok,
      exitCode: code,
      finishedAt: finished / 1000,
      durationSeconds: (finished - started.getTime()) / 1000,
      bytes: s.bytes,
      files: s.files,
      errors: s.errors ?? (ok ? 0 : undefined),
    }).catch((err: Error) => warnLine(`could not write --metrics-file ${flags.metricsFile}: ${err.message}`));
  }
  const hook = ok ? flags.onSuccess : flags.onFailure;
  if (hook) {
    const summary: HookSummary = {
      command,
      store: storeName,
      ok,
      exit_code: code,
      error: failure ? ((failure as Error).message ?? String(failure)) : null,
      started: started.toISOString(),
      duration_ms: finished - started.getTime(),
      bytes: s.bytes ?? null,
      files: s.files ?? null,
      errors: s.errors ?? null,
      summary: s.summary ?? null,
    };
    const { problem } = await runHook(hook, `${JSON.stringify(summary)}\n`, hookTimeoutMs);
    if (problem) warnLine(`the ${ok ? '--on-success' : '--on-failure'} hook ${problem}; the exit code stays ${code}`);
  }
  if (failure) throw failure;
  return code;
}
