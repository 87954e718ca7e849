/*
 * `sinki backup --from REMOTE:PATH` pulls a remote folder into a private staging folder, backs it
 * up and removes the staging folder, also when the pull fails; rclone failures are one line.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOneErrorLine, jsonLine, KiB, randomData, RemoteLab, run, type Served } from './harness.js';

let lab: RemoteLab;
let webdav: Served;
let store: string;

/** A private TMPDIR for one test's sinki runs (the tests run at the same time). */
const privateTmp = async (name: string): Promise<Record<string, string>> => ({ TMPDIR: await lab.dir(`tmp-${name}`) });

/** What `backup --from` left in a TMPDIR (sinki-pull-* staging folders). */
const stagingLeft = async (env: Record<string, string>): Promise<string[]> => (await fs.readdir(env.TMPDIR!)).filter((n) => n.startsWith('sinki-pull-'));

beforeAll(async () => {
  lab = await RemoteLab.create('from');
  webdav = await lab.webdav('w');
  store = await lab.store('store');
});

afterAll(async () => {
  await lab?.close();
});

describe.concurrent('backup --from', () => {
  it('backs up a remote folder as a snapshot whose paths record the remote, and leaves no staging folder', async () => {
    const src = join(webdav.dir, 'srcdir');
    await fs.mkdir(join(src, 'sub/deeper'), { recursive: true });
    await fs.writeFile(join(src, 'a.jpg'), randomData('from-a', 300 * KiB));
    await fs.writeFile(join(src, 'sub/b.txt'), 'b'.repeat(10_000));
    await fs.writeFile(join(src, 'sub/deeper/.tmp-notes'), 'a user file that only looks like a temp file\n');
    await fs.writeFile(join(src, 'sub/deeper/empty'), '');

    const env = await privateTmp('ok');
    const r = await lab.sinkiOk(['backup', '--from', 'w:srcdir', '--json'], { store, env });
    const summary = jsonLine<{ files: number; snapshot_id: string }>(r.stdout, 'summary');
    expect(summary.files).toBe(4);
    expect(await stagingLeft(env)).toEqual([]);

    const snaps = JSON.parse((await lab.sinkiOk(['snapshots', '--json'], { store })).stdout) as Array<{ id: string; paths: string[] }>;
    expect(snaps.find((s) => s.id === summary.snapshot_id)).toMatchObject({ paths: ['w:srcdir'] });
    const ls = await lab.sinkiOk(['ls', summary.snapshot_id], { store });
    expect(ls.stdout.split('\n').filter(Boolean)).toEqual([
      '/srcdir',
      '/srcdir/a.jpg',
      '/srcdir/sub',
      '/srcdir/sub/b.txt',
      '/srcdir/sub/deeper',
      '/srcdir/sub/deeper/.tmp-notes',
      '/srcdir/sub/deeper/empty',
    ]);

    const target = await lab.dir('from-restore');
    await lab.sinkiOk(['restore', summary.snapshot_id, target], { store });
    expect(await run('diff', ['-r', src, join(target, 'srcdir')])).toMatchObject({ code: 0, stdout: '' });
  });

  it('fails with one line and exit 19 for a path the remote does not have, and removes its staging folder', async () => {
    const env = await privateTmp('missing-path');
    const r = await lab.sinki(['backup', '--from', 'w:no/such/dir'], { store, env });
    expectOneErrorLine(r, 19, /^sinki: cannot pull w:no\/such\/dir: .*not found/);
    expect(await stagingLeft(env)).toEqual([]);
  });

  it("fails with one line and exit 19 for a remote name rclone does not know, with rclone's own message", async () => {
    const env = await privateTmp('bad-name');
    const r = await lab.sinki(['backup', '--from', 'nosuchremote:dir'], { store, env });
    expectOneErrorLine(r, 19, /^sinki: cannot pull nosuchremote:dir: .*didn't find section in config file/);
    expect(await stagingLeft(env)).toEqual([]);
  });

  it('fails with one line and exit 18 when the rclone binary is missing (--rclone, SINKI_RCLONE)', async () => {
    const env = await privateTmp('no-rclone');
    const flag = await lab.sinki(['--rclone', '/nonexistent/rclone', 'backup', '--from', 'w:srcdir'], { store, env });
    expectOneErrorLine(flag, 18, /rclone not found \(\/nonexistent\/rclone\)/);
    const viaEnv = await lab.sinki(['backup', '--from', 'w:srcdir'], { store, env: { ...env, SINKI_RCLONE: '/nonexistent/rclone' } });
    expectOneErrorLine(viaEnv, 18, /rclone not found \(\/nonexistent\/rclone\)/);
    expect(await stagingLeft(env)).toEqual([]);
  });
});

describe.concurrent('a remote store that cannot be reached', () => {
  it("a remote name rclone does not know: one line with rclone's message, exit 19", async () => {
    const r = await lab.sinki(['snapshots'], { store: 'rclone:nosuchremote:path' });
    expectOneErrorLine(r, 19, /nosuchremote.*didn't find section in config file/);
    expect(r.stderr).not.toMatch(/\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d/); // no rclone log timestamp
  });

  it('push to a remote name rclone does not know: one line, exit 19', async () => {
    const r = await lab.sinki(['push', 'nosuchremote:path'], { store });
    expectOneErrorLine(r, 19, /nosuchremote.*didn't find section in config file/);
  });

  it('a remote path without a store: exit 10; the rclone binary missing: exit 18', async () => {
    const empty = await lab.sinki(['snapshots'], { store: 'rclone:w:empty' });
    expectOneErrorLine(empty, 10, /rclone:w:empty is not a sinki store/);
    const missing = await lab.sinki(['--rclone', '/nonexistent/rclone', 'snapshots'], { store: 'rclone:w:x' });
    expectOneErrorLine(missing, 18, /rclone not found/);
  });
});
