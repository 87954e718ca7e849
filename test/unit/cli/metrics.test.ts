import { describe, expect, it } from 'vitest';
import { mergeMetrics, metricLabels, type RunMetrics } from '../../../src/cli/metrics.js';

const run = (over: Partial<RunMetrics>): RunMetrics => ({
  command: 'backup',
  store: '/srv/s',
  ok: true,
  exitCode: 0,
  finishedAt: 1000,
  durationSeconds: 2.5,
  bytes: 10,
  files: 2,
  errors: 0,
  ...over,
});

const sampleLines = (text: string): string[] => text.split('\n').filter((l) => l && !l.startsWith('#'));

describe('the Prometheus textfile of --metrics-file', () => {
  it('one HELP and TYPE per metric, one sample per command and store', () => {
    const text = mergeMetrics('', run({}));
    expect(text.match(/^# TYPE \S+ gauge$/gm)).toHaveLength(8);
    expect(sampleLines(text)).toEqual([
      'sinki_last_run_timestamp_seconds{command="backup",store="/srv/s"} 1000',
      'sinki_last_success_timestamp_seconds{command="backup",store="/srv/s"} 1000',
      'sinki_last_run_success{command="backup",store="/srv/s"} 1',
      'sinki_last_run_exit_code{command="backup",store="/srv/s"} 0',
      'sinki_last_run_duration_seconds{command="backup",store="/srv/s"} 2.5',
      'sinki_last_run_bytes{command="backup",store="/srv/s"} 10',
      'sinki_last_run_files{command="backup",store="/srv/s"} 2',
      'sinki_last_run_errors{command="backup",store="/srv/s"} 0',
    ]);
  });

  it('a failed run keeps the last success time; numbers it does not have are dropped, not left stale', () => {
    const text = mergeMetrics(
      mergeMetrics('', run({})),
      run({ ok: false, exitCode: 12, finishedAt: 2000, bytes: undefined, files: undefined, errors: undefined }),
    );
    const lines = sampleLines(text);
    expect(lines).toContain('sinki_last_success_timestamp_seconds{command="backup",store="/srv/s"} 1000');
    expect(lines).toContain('sinki_last_run_timestamp_seconds{command="backup",store="/srv/s"} 2000');
    expect(lines).toContain('sinki_last_run_exit_code{command="backup",store="/srv/s"} 12');
    expect(lines.filter((l) => /bytes|files|errors/.test(l))).toEqual([]);
  });

  it('samples of other commands and stores stay; lines it does not know are dropped', () => {
    const first = mergeMetrics('garbage line\n', run({ command: 'push' }));
    const both = mergeMetrics(first, run({ store: '/srv/other' }));
    expect(both).not.toContain('garbage');
    expect(sampleLines(both).filter((l) => l.startsWith('sinki_last_run_success'))).toEqual([
      'sinki_last_run_success{command="backup",store="/srv/other"} 1',
      'sinki_last_run_success{command="push",store="/srv/s"} 1',
    ]);
  });

  it('label values are escaped as the text format asks', () => {
    expect(metricLabels({ command: 'backup', store: 'a "b"\\c\nd' })).toBe('{command="backup",store="a \\"b\\"\\\\c\\nd"}');
    const text = mergeMetrics('', run({ store: 'x"y' }));
    expect(mergeMetrics(text, run({ store: 'x"y', finishedAt: 5 }))).toContain('sinki_last_run_timestamp_seconds{command="backup",store="x\\"y"} 5');
  });
});
