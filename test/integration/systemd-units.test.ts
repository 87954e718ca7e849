/*
 * The units in contrib/, checked by systemd's own verifier. `systemd-analyze verify` also insists
 * that every ExecStart= program exists, so the copies checked here run this checkout's CLI instead
 * of /usr/local/bin/sinki (where `npm link` puts it); nothing else in them is changed.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, run } from '../helpers/cli.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';

const CONTRIB = new URL('../../contrib/', import.meta.url).pathname;
const UNITS = ['sinki-mount@.service', 'sinki-backup@.service', 'sinki-backup@.timer'];
const INSTALLED_CLI = '/usr/local/bin/sinki';

async function unitsFor(dir: string, edit: (name: string, text: string) => string = (_n, t) => t): Promise<void> {
  for (const name of UNITS) {
    const text = (await fs.readFile(join(CONTRIB, name), 'utf8')).replaceAll(INSTALLED_CLI, CLI);
    await fs.writeFile(join(dir, name), edit(name, text));
  }
}

function verify(dir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return run('systemd-analyze', ['verify', '--man=no', ...['sinki-mount@photos.service', 'sinki-backup@photos.service', 'sinki-backup@photos.timer'].map((u) => join(dir, u))]);
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
    for (const name of ['sinki-mount@.service', 'sinki-backup@.timer']) expect(await fs.readFile(join(CONTRIB, name), 'utf8')).toMatch(/^\[Install\]\nWantedBy=/m);
  });

  it('the verifier is listening: a misspelt key or a missing program is reported', async () => {
    const dir = await tempDir('units-bad');
    await unitsFor(dir, (name, text) => (name.endsWith('.timer') ? text.replace('Persistent=', 'Persistant=') : text));
    expect((await verify(dir)).stderr).toMatch(/Unknown key 'Persistant'/);
    await unitsFor(dir, (_name, text) => text.replaceAll(CLI, '/nonexistent/sinki'));
    expect((await verify(dir)).stderr).toMatch(/nonexistent\/sinki is not executable/);
  });

  it('the backup service backs up, forgets by the policy with --prune, and pushes when a remote is set', async () => {
    const text = await fs.readFile(join(CONTRIB, 'sinki-backup@.service'), 'utf8');
    const steps = text.split('\n').filter((l) => l.startsWith('ExecStart='));
    expect(steps).toHaveLength(3);
    expect(steps[0]).toMatch(/ backup \$SINKI_BACKUP_PATHS/);
    expect(steps[1]).toMatch(/ forget \$SINKI_FORGET_POLICY --prune$/);
    expect(steps[2]).toMatch(/ push "\$SINKI_PUSH_REMOTE"/);
    expect(await fs.readFile(join(CONTRIB, 'sinki-backup@.timer'), 'utf8')).toMatch(/^OnCalendar=/m);
  });
});
