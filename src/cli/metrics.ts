import { promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SinkiError } from '../errors.js';

/** What one run of a command leaves in a Prometheus textfile-collector file. */
export interface RunMetrics {
  command: string;
  store: string;
  ok: boolean;
  exitCode: number;
  /** Unix time, seconds. */
  finishedAt: number;
  durationSeconds: number;
  bytes?: number;
  files?: number;
  errors?: number;
}

const METRICS: ReadonlyArray<{ name: string; help: string; value: (m: RunMetrics) => number | undefined }> = [
  { name: 'sinki_last_run_timestamp_seconds', help: 'When the last run of the command ended (Unix time).', value: (m) => m.finishedAt },
  {
    name: 'sinki_last_success_timestamp_seconds',
    help: 'When the last successful run of the command ended (Unix time).',
    value: (m) => (m.ok ? m.finishedAt : undefined),
  },
  { name: 'sinki_last_run_success', help: '1 if the last run of the command succeeded, else 0.', value: (m) => (m.ok ? 1 : 0) },
  { name: 'sinki_last_run_exit_code', help: 'Exit code of the last run of the command.', value: (m) => m.exitCode },
  { name: 'sinki_last_run_duration_seconds', help: 'How long the last run of the command took.', value: (m) => m.durationSeconds },
  {
    name: 'sinki_last_run_bytes',
    help: 'Bytes the last run handled: backed up (backup), sent (push), freed (prune), read (check --read-data).',
    value: (m) => m.bytes,
  },
  {
    name: 'sinki_last_run_files',
    help: 'Files the last run handled: backed up (backup), sent (push), packs deleted (prune), packs checked (check).',
    value: (m) => m.files,
  },
  {
    name: 'sinki_last_run_errors',
    help: 'Errors the last run met: unreadable files (backup), problems found (check), damaged remote objects (push).',
    value: (m) => m.errors,
  },
];

const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

export function metricLabels(m: Pick<RunMetrics, 'command' | 'store'>): string {
  return `{command="${escapeLabel(m.command)}",store="${escapeLabel(m.store)}"}`;
}

const SAMPLE = /^(sinki_[a-z_]+)(\{.*\}) (\S+)$/;

/**
 * The file's text after this run: the samples of other commands and stores already in `previous`
 * stay, this command's are replaced. A failed run keeps the last success time it had.
 */
export function mergeMetrics(previous: string, run: RunMetrics): string {
  const labels = metricLabels(run);
  const samples = new Map<string, Map<string, string>>(METRICS.map((d) => [d.name, new Map()]));
  for (const line of previous.split('\n')) {
    const m = SAMPLE.exec(line);
    if (m && samples.has(m[1]!)) samples.get(m[1]!)!.set(m[2]!, m[3]!);
  }
  for (const d of METRICS) {
    const value = d.value(run);
    const forMetric = samples.get(d.name)!;
    if (value !== undefined) forMetric.set(labels, String(Math.round(value * 1000) / 1000));
    else if (d.name !== 'sinki_last_success_timestamp_seconds') forMetric.delete(labels);
  }
  const out: string[] = [];
  for (const d of METRICS) {
    out.push(`# HELP ${d.name} ${d.help}`, `# TYPE ${d.name} gauge`);
    for (const [l, v] of [...samples.get(d.name)!].sort(([a], [b]) => a.localeCompare(b))) out.push(`${d.name}${l} ${v}`);
  }
  return `${out.join('\n')}\n`;
}

/** Before any work: the folder of --metrics-file must exist, or it is a usage error. */
export async function checkMetricsFile(path: string): Promise<void> {
  const dir = dirname(path);
  const st = await fs.stat(dir).catch(() => null);
  if (!st?.isDirectory()) throw new SinkiError('USAGE', `--metrics-file ${path}: the folder ${dir} does not exist`);
  if ((await fs.stat(path).catch(() => null))?.isDirectory()) throw new SinkiError('USAGE', `--metrics-file ${path} is a folder`);
}

/** Writes the merged metrics atomically (a temp file beside it, then a rename): a collector never reads half a file. */
export async function writeMetricsFile(path: string, run: RunMetrics): Promise<void> {
  const previous = await fs.readFile(path, 'utf8').catch(() => '');
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    await fs.writeFile(tmp, mergeMetrics(previous, run), { mode: 0o644 });
    await fs.rename(tmp, path);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}
