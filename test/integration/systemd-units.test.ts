/*
 * The units in contrib/, checked by systemd's own verifier. `systemd-analyze verify` also insists
 * that every ExecStart= program exists, so the copies checked here run this checkout's CLI instead
 * of /usr/local/bin/sinki (where `npm link` puts it); nothing else in them is changed.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, PASSWORD, initStore, run, sinkiOk } from '../helpers/cli.js';
import { execStartLines, INSTALLED_CLI, runExecStart, unitDefaults } from '../helpers/systemd.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';

const CONTRIB = new URL('../../contrib/', import.meta.url).pathname;
const UNITS = ['sinki-mount@.service', 'sinki-backup@.service', 'sinki-backup@.timer'];

async function unitsFor(dir: string, edit: (name: string, text: string) => string = (_n, t) => t): Promise<void> {
  for (const name of UNITS) {
    const text = (await fs.readFile(join(CONTRIB, name), 'utf8')).replaceAll(INSTALLED_CLI, CLI);
    await fs.writeFile(join(dir, name), edit(name, text));
  }
}

function verify(dir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return run('systemd-analyze', [
    'verify',
    '--man=no',
    ...['sinki-mount@photos.service', 'sinki-backup@photos.service', 'sinki-backup@photos.timer'].map((u) => join(dir, u)),
  ]);
}

describe('systemd units in contrib/', () => {
  afterAll(removeTempDirs);

  it('systemd-analyze verify passes the mount, backup and timer units without a word', async () => {
    await fs.chmod(CLI, 0o755);
    const dir = await tempDir('units');
    await unitsFor(dir);
    const r = await verify(dir);
    expect({ code: r.code, out: r.stdout + r.stderr }).toEqual({ code: 0, out: '' });
    // What `systemctl enable` needs: the mount and the timer are installed, the backup service is the timer's.
    for (const name of ['sinki-mount@.service', 'sinki-backup@.timer'])
      expect(await fs.readFile(join(CONTRIB, name), 'utf8')).toMatch(/^\[Install\]\nWantedBy=/m);
  });

  it('the verifier is listening: a misspelt key or a missing program is reported', async () => {
    const dir = await tempDir('units-bad');
    await unitsFor(dir, (name, text) => (name.endsWith('.timer') ? text.replace('Persistent=', 'Persistant=') : text));
    expect((await verify(dir)).stderr).toMatch(/Unknown key 'Persistant'/);
    await unitsFor(dir, (_name, text) => text.replaceAll(CLI, '/nonexistent/sinki'));
    expect((await verify(dir)).stderr).toMatch(/nonexistent\/sinki is not executable/);
  });

  it('the backup service, its steps run as systemd runs them: backs up, forgets by the policy and prunes, pushes, with metrics and hooks', async () => {
    const work = await tempDir('units-run');
    const store = join(work, 'store');
    const remote = join(work, 'remote');
    const credentials = join(work, 'credentials');
    await fs.mkdir(credentials);
    await fs.writeFile(join(credentials, 'password'), `${PASSWORD}\n`, { mode: 0o600 });
    for (const dir of ['a', 'b']) {
      await fs.mkdir(join(work, dir));
      await fs.writeFile(join(work, dir, 'file.txt'), `${dir}\n`);
    }
    await initStore(store);
    const steps = execStartLines(await fs.readFile(join(CONTRIB, 'sinki-backup@.service'), 'utf8'));
    expect(steps).toHaveLength(3);
    const conf = {
      SINKI_STORE: store,
      SINKI_BACKUP_PATHS: `${join(work, 'a')} ${join(work, 'b')}`,
      SINKI_FORGET_POLICY: '--keep-last 1',
      SINKI_PUSH_REMOTE: remote,
      SINKI_PUSH_OPTIONS: '--transfers 2',
      SINKI_METRICS_FILE: join(work, 'sinki.prom'),
      SINKI_ON_SUCCESS: `echo "$(head -c 40) ok" >> ${join(work, 'hooks.log')}`,
    };
    for (let night = 0; night < 2; night++) {
      for (const step of steps) {
        const r = await runExecStart(step, {
          ...unitDefaults(await fs.readFile(join(CONTRIB, 'sinki-backup@.service'), 'utf8')),
          ...conf,
          CREDENTIALS_DIRECTORY: credentials,
        });
        expect({ step, code: r.code, stderr: r.stderr }).toEqual({ step, code: 0, stderr: '' });
      }
    }
    const ids = async (at: string): Promise<string[]> =>
      (JSON.parse((await sinkiOk(['snapshots', '--json'], { store: at })).stdout) as Array<{ id: string }>).map((x) => x.id);
    const snapshots = JSON.parse((await sinkiOk(['snapshots', '--json'], { store })).stdout) as Array<{ id: string; paths: string[] }>;
    expect(snapshots.map((x) => x.paths)).toEqual([[join(work, 'a'), join(work, 'b')]]); // two nights, --keep-last 1
    const pushed = await ids(remote);
    expect(pushed).toHaveLength(2); // push without --delete (SINKI_PUSH_OPTIONS) keeps what forget removed here
    expect(pushed).toContain(snapshots[0]!.id);
    const metrics = await fs.readFile(conf.SINKI_METRICS_FILE, 'utf8');
    for (const command of ['backup', 'forget', 'push']) expect(metrics).toContain(`sinki_last_run_success{command="${command}",store="${store}"} 1`);
    const hooks = (await fs.readFile(join(work, 'hooks.log'), 'utf8')).trim().split('\n');
    expect(hooks.map((l) => /"command":"(\w+)"/.exec(l)?.[1])).toEqual(['backup', 'forget', 'push', 'backup', 'forget', 'push']);

    // Without a remote the push step does nothing and succeeds; without metrics and hooks, none.
    const bare = {
      ...unitDefaults(await fs.readFile(join(CONTRIB, 'sinki-backup@.service'), 'utf8')),
      SINKI_STORE: store,
      SINKI_BACKUP_PATHS: join(work, 'a'),
      SINKI_FORGET_POLICY: '--keep-last 5',
      CREDENTIALS_DIRECTORY: credentials,
    };
    for (const step of steps) expect((await runExecStart(step, bare)).code).toBe(0);
    expect(await ids(store)).toHaveLength(2);
    expect(await ids(remote)).toEqual(pushed);
  });
});
