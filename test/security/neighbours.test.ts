/* Another local user, or a planted file, must not be able to answer for a mount or read a password. */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPrivateDir, serveControl } from '../../src/fuse/control.js';
import { isMountPoint } from '../../src/sys/mounts.js';
import { expectOneErrorLine, initStore, run, sinki, sinkiOk } from '../helpers/cli.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';

describe('control folder, mount log and child environments', () => {
  let work: string;
  let store: string;

  beforeAll(async () => {
    work = await tempDir('sec-neighbours');
    store = join(work, 'store');
    await initStore(store);
  });

  afterAll(removeTempDirs);

  it('a control folder that another user could have made (open mode, foreign owner, symlink) is refused by snapshot and mount', async () => {
    const runtime = join(work, 'runtime');
    await fs.mkdir(runtime, { mode: 0o700 });
    const control = join(runtime, 'sinki');
    const env = { XDG_RUNTIME_DIR: runtime };
    const mnt = join(work, 'mnt');
    await fs.mkdir(mnt, { recursive: true });

    await fs.mkdir(control, { mode: 0o777 });
    await fs.chmod(control, 0o777);
    expectOneErrorLine(await sinki(['snapshot'], { store, env }), 1, /control folder .*runtime\/sinki is open to others \(mode 777\), so it cannot be trusted/);
    expectOneErrorLine(await sinki(['mount', mnt], { store, env }), 1, /open to others/);

    await fs.chmod(control, 0o700);
    await fs.chown(control, 65534, 65534);
    expectOneErrorLine(await sinki(['snapshot'], { store, env }), 1, /owned by uid 65534/);

    await fs.rm(control, { recursive: true });
    const elsewhere = join(work, 'elsewhere');
    await fs.mkdir(elsewhere, { mode: 0o700 });
    await fs.symlink(elsewhere, control);
    expectOneErrorLine(await sinki(['snapshot'], { store, env }), 1, /is a symlink/);
    expect(await fs.readdir(elsewhere)).toEqual([]);
    await fs.rm(control);
  });

  it('the control socket is mode 0600 in a folder of mode 0700 made for it', async () => {
    const runtime = join(work, 'runtime2');
    await fs.mkdir(runtime, { mode: 0o700 });
    const dir = join(runtime, 'sinki');
    const server = await serveControl([join(dir, 'x.sock')], async () => 'ok');
    try {
      expect((await fs.lstat(dir)).mode & 0o777).toBe(0o700);
      const sockets = [];
      for (const name of await fs.readdir(dir)) {
        const st = await fs.lstat(join(dir, name));
        if (st.isSocket()) sockets.push(st.mode & 0o777);
      }
      expect(sockets).toEqual([0o600]);
      await expect(checkPrivateDir(dir, false)).resolves.toBe(true);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('a symlink planted where the mount log goes is refused (exit 2), and what it points at is left alone', async () => {
    const mnt = join(work, 'logged');
    await fs.mkdir(mnt);
    const victim = join(work, 'victim.txt');
    await fs.writeFile(victim, 'untouched\n');
    await fs.symlink(victim, join(work, '.logged.sinki-mount.log'));
    expectOneErrorLine(await sinki(['mount', mnt, '--background'], { store }), 2, /mount log .* is a symlink; remove it first/);
    expect(await fs.readFile(victim, 'utf8')).toBe('untouched\n');
    expect(await isMountPoint(mnt)).toBe(false);
  });

  it('child processes (rclone, --password-command) never see SINKI_PASSWORD or SINKI_NEW_PASSWORD', async () => {
    const dump = join(work, 'env-dump');
    const wrapper = join(work, 'rclone-wrapper');
    await fs.writeFile(wrapper, `#!/bin/sh\nenv >> ${dump}\nexec rclone "$@"\n`, { mode: 0o755 });
    const remote = join(work, 'remote-copy');
    await run('cp', ['-a', store, remote]);
    const env = { SINKI_NEW_PASSWORD: 'new secret' };
    await sinkiOk(['--rclone', wrapper, '-s', `rclone:${remote}`, 'snapshots'], { env });
    const pwDump = join(work, 'pw-env-dump');
    await sinkiOk(['--password-command', `env > ${pwDump}; echo 'correct horse battery staple'`, 'snapshots'], { store, env });
    for (const file of [dump, pwDump]) {
      const text = await fs.readFile(file, 'utf8');
      expect(text).toMatch(/^PATH=/m); // the dump is real
      expect(text).not.toMatch(/SINKI_PASSWORD|SINKI_NEW_PASSWORD|correct horse|new secret/);
    }
  });
});
