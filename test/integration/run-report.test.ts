/*
 * --metrics-file and --on-success / --on-failure on real runs: the Prometheus file after success
 * and failure, its atomic write, a missing folder refused before any work, and hooks that get the
 * summary JSON, fail or hang without changing the exit code.
 */
import { promises as fs, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JSON_SCHEMAS } from '../../src/cli/json-schema.js';
import { expectOneErrorLine, initStore, sinki, sinkiOk, type RunResult } from '../helpers/cli.js';
import { schemaErrors } from '../helpers/json-schema.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';

/** `name{labels} value` samples of a textfile-collector file, keyed by `name{labels}`. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^(\w+\{[^}]*\}) (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/** The process exists and is not a zombie. */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** The one warning line a hook problem leaves, and nothing else on stderr. */
function expectOnlyWarning(r: RunResult, pattern: RegExp): void {
  expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(pattern)]);
}

describe('--metrics-file and --on-success/--on-failure hooks', () => {
  let work: string;
  let store: string;
  let source: string;
  let metrics: string;
  let labels: (command: string) => string;
  /** The process a hanging hook left running, should the hook's time limit fail to stop it. */
  let sleeper = 0;

  beforeAll(async () => {
    work = await tempDir('report');
    store = join(work, 'store');
    source = join(work, 'src');
    metrics = join(work, 'textfile', 'sinki.prom');
    await fs.mkdir(join(work, 'textfile'));
    await fs.mkdir(source);
    for (let i = 0; i < 5; i++) await fs.writeFile(join(source, `f${i}`), Buffer.alloc(1000 * (i + 1), i));
    await initStore(store);
    labels = (command) => `{command="${command}",store="${store}"}`;
  });

  afterAll(async () => {
    if (sleeper && isRunning(sleeper)) process.kill(sleeper, 'SIGKILL');
    await removeTempDirs();
  });

  it("backup, check, prune and push write their samples into one file, atomically, keeping each other's", async () => {
    const before = Date.now() / 1000;
    await sinkiOk(['backup', source, '--metrics-file', metrics], { store });
    let m = samples(await fs.readFile(metrics, 'utf8'));
    expect(m.get(`sinki_last_run_files${labels('backup')}`)).toBe(5);
    expect(m.get(`sinki_last_run_bytes${labels('backup')}`)).toBe(15_000);
    expect(m.get(`sinki_last_run_errors${labels('backup')}`)).toBe(0);
    expect(m.get(`sinki_last_run_success${labels('backup')}`)).toBe(1);
    expect(m.get(`sinki_last_run_exit_code${labels('backup')}`)).toBe(0);
    expect(m.get(`sinki_last_success_timestamp_seconds${labels('backup')}`)).toBeGreaterThanOrEqual(Math.floor(before));
    expect(m.get(`sinki_last_run_duration_seconds${labels('backup')}`)).toBeGreaterThanOrEqual(0);

    await sinkiOk(['check', '--metrics-file', metrics], { store });
    await sinkiOk(['prune', '--metrics-file', metrics], { store });
    await sinkiOk(['push', join(work, 'remote'), '--metrics-file', metrics], { store });
    m = samples(await fs.readFile(metrics, 'utf8'));
    for (const command of ['backup', 'check', 'prune', 'push']) expect(m.get(`sinki_last_run_success${labels(command)}`)).toBe(1);
    expect(m.get(`sinki_last_run_files${labels('check')}`)).toBe(1); // packs checked
    expect(m.get(`sinki_last_run_bytes${labels('push')}`)).toBeGreaterThan(0);
    expect(await fs.readdir(join(work, 'textfile'))).toEqual(['sinki.prom']); // no temp file left beside it
    const text = await fs.readFile(metrics, 'utf8');
    expect(text).toMatch(/^# HELP sinki_last_success_timestamp_seconds .+\n# TYPE sinki_last_success_timestamp_seconds gauge$/m);
  });

  it('a failed run: success 0 and its exit code, the last success time kept from before', async () => {
    const m0 = samples(await fs.readFile(metrics, 'utf8'));
    const r = await sinki(['check', '--metrics-file', metrics], { store, password: 'wrong' });
    expect(r.code).toBe(12);
    const m = samples(await fs.readFile(metrics, 'utf8'));
    expect(m.get(`sinki_last_run_success${labels('check')}`)).toBe(0);
    expect(m.get(`sinki_last_run_exit_code${labels('check')}`)).toBe(12);
    expect(m.get(`sinki_last_success_timestamp_seconds${labels('check')}`)).toBe(m0.get(`sinki_last_success_timestamp_seconds${labels('check')}`));
    expect(m.get(`sinki_last_run_timestamp_seconds${labels('check')}`)).toBeGreaterThanOrEqual(m0.get(`sinki_last_run_timestamp_seconds${labels('check')}`)!);
    expect(m.get(`sinki_last_run_success${labels('backup')}`)).toBe(1);
  });

  it('--metrics-file in a missing folder is exit 2 with one line, before any work (no snapshot, no lock)', async () => {
    const snapshotsBefore = await fs.readdir(join(store, 'snapshots'));
    const r = await sinki(['backup', source, '--metrics-file', join(work, 'missing', 'sinki.prom')], { store });
    expectOneErrorLine(r, 2, /^sinki: --metrics-file .*missing\/sinki\.prom: the folder .*missing does not exist$/);
    expect(await fs.readdir(join(store, 'snapshots'))).toEqual(snapshotsBefore);
    expect(await fs.readdir(join(store, 'locks'))).toEqual([]);
    expect(existsSync(join(work, 'missing'))).toBe(false);
    expectOneErrorLine(await sinki(['prune', '--hook-timeout', 'soon', '--on-success', 'true'], { store }), 2, /--hook-timeout: "soon" is not a duration/);
  });

  it('--on-success gets the summary JSON on stdin (schema "hook"); its output goes to stderr, never into --json stdout', async () => {
    const got = join(work, 'success.json');
    const r = await sinkiOk(
      ['backup', source, '--json', '--on-success', `cat > ${got}; echo hook-said-this`, '--on-failure', `touch ${join(work, 'wrong-hook')}`],
      { store },
    );
    expect(r.stdout).not.toContain('hook-said-this');
    expect(r.stderr).toContain('hook-said-this');
    const summary = JSON.parse(await fs.readFile(got, 'utf8')) as { summary: { type: string; snapshot_id: string } };
    expect(schemaErrors(JSON_SCHEMAS.hook!, summary)).toEqual([]);
    expect(summary).toMatchObject({ command: 'backup', store, ok: true, exit_code: 0, error: null, files: 5, bytes: 15_000, errors: 0 });
    const lastLine = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { snapshot_id: string };
    expect(summary.summary).toMatchObject({ type: 'summary', snapshot_id: lastLine.snapshot_id });
    expect(existsSync(join(work, 'wrong-hook'))).toBe(false);
  });

  it("--on-failure gets ok false, the exit code and the error; the exit code is the command's own", async () => {
    const got = join(work, 'failure.json');
    const r = await sinki(['push', join(work, 'remote'), '--on-failure', `cat > ${got}`], { store, password: 'wrong' });
    expectOneErrorLine(r, 12);
    const summary = JSON.parse(await fs.readFile(got, 'utf8')) as Record<string, unknown>;
    expect(schemaErrors(JSON_SCHEMAS.hook!, summary)).toEqual([]);
    expect(summary).toMatchObject({ command: 'push', ok: false, exit_code: 12, error: r.stderr.trim().replace(/^sinki: /, ''), summary: null });
  });

  it('a failing hook and a hanging hook are reported on stderr and leave the exit code alone; the hanging one is stopped', async () => {
    const failing = await sinki(['check', '--on-success', 'exit 7'], { store });
    expect(failing.code).toBe(0);
    expectOnlyWarning(failing, /^sinki: warning: the --on-success hook exited with code 7; the exit code stays 0$/);

    const pidFile = join(work, 'hook.pid');
    const hanging = await sinki(['check', '--on-success', `sleep 600 & echo $! > ${pidFile}; wait`, '--hook-timeout', '1s'], { store });
    expect(hanging.code).toBe(0);
    expectOnlyWarning(hanging, /^sinki: warning: the --on-success hook did not finish within 1 s and was stopped; the exit code stays 0$/);
    sleeper = Number(await fs.readFile(pidFile, 'utf8'));
    expect(isRunning(sleeper)).toBe(false); // the hook's whole process group, not just its shell

    const failed = await sinki(['check', '--on-failure', 'exit 3'], { store, password: 'wrong' });
    expect(failed.code).toBe(12);
    expect(failed.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^sinki: warning: the --on-failure hook exited with code 3; the exit code stays 12$/),
      expect.stringMatching(/^sinki: wrong password/),
    ]);
  });
});
