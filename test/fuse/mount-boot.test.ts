/*
 * Mounts the way a machine does at boot: mount(8) with `-t fuse.sinki`, and an fstab line (given to
 * mount -T as an alternative fstab), through /sbin/mount.fuse.sinki. The helper installed there is
 * pointed at this checkout's build for the duration of the file, then put back as it was.
 */
import { promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, PASSWORD, expectOneErrorLine, run, sinkiOk, type RunResult } from '../helpers/cli.js';
import { spawn } from 'node:child_process';
import { execStartArgv, execStartLines, unitDefaults } from '../helpers/systemd.js';
import { cleanup, errCode, forgetMount, isMounted, makeStore, trackMount, waitFor, waitForExit, type Store } from './harness.js';

const HELPER_LINK = '/sbin/mount.fuse.sinki';
const HELPER = join(dirname(CLI), 'mount-helper.js');
/** Nothing of sinki's from the outer environment: mount(8) at boot has no password to hand on. */
const BOOT_ENV = { SINKI_PASSWORD: undefined, SINKI_STORE: undefined };

/** mount(8) and umount(8) print the helper's error as it is; sinki's own line is the one we check. */
function mountCmd(args: string[]): Promise<RunResult> {
  return run('mount', args, { env: BOOT_ENV });
}

async function findmntOptions(mnt: string): Promise<string[]> {
  const r = await run('findmnt', ['-n', '-o', 'FSTYPE,OPTIONS', mnt]);
  const [type, options] = r.stdout.trim().split(/\s+/);
  return [type!, ...(options ?? '').split(',')];
}

describe('mount -t fuse.sinki and fstab lines (mount.fuse.sinki)', () => {
  let store: Store;
  let passwordFile: string;
  let previousLink: string | null = null;

  beforeAll(async () => {
    store = await makeStore('boot');
    passwordFile = join(store.work, 'password');
    await fs.writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
    await fs.chmod(HELPER, 0o755);
    await fs.chmod(CLI, 0o755);
    previousLink = await fs.readlink(HELPER_LINK).catch(() => null);
    await fs.rm(HELPER_LINK, { force: true });
    await fs.symlink(HELPER, HELPER_LINK);
  });

  afterAll(async () => {
    await cleanup();
    await fs.rm(HELPER_LINK, { force: true });
    if (previousLink) await fs.symlink(previousLink, HELPER_LINK);
  });

  it('mount -t fuse.sinki STORE MNT -o password_file=...: returns once mounted, silent; umount(8) commits and ends the process', async () => {
    const mnt = join(store.work, 'rw');
    await fs.mkdir(mnt);
    const r = await mountCmd(['-t', 'fuse.sinki', store.path, mnt, '-o', `password_file=${passwordFile}`]);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 0, stdout: '', stderr: '' });
    const m = trackMount(mnt);
    expect(await isMounted(mnt)).toBe(true);
    expect((await findmntOptions(mnt)).slice(0, 2)).toEqual(['fuse.sinki', 'rw']);
    await fs.writeFile(join(mnt, 'written-at-boot.txt'), 'kept\n');
    expect((await run('umount', [mnt])).code).toBe(0);
    await waitForExit(m.pid);
    forgetMount(m);
    expect(await isMounted(mnt)).toBe(false);

    const ro = await mountCmd(['-t', 'fuse.sinki', store.path, mnt, '-o', `password_file=${passwordFile},ro`]);
    expect({ code: ro.code, stderr: ro.stderr }).toEqual({ code: 0, stderr: '' });
    const again = trackMount(mnt);
    expect((await findmntOptions(mnt)).slice(0, 2)).toEqual(['fuse.sinki', 'ro']);
    expect(await fs.readFile(join(mnt, 'written-at-boot.txt'), 'utf8')).toBe('kept\n');
    expect(await errCode(fs.writeFile(join(mnt, 'refused.txt'), 'x'))).toBe('EROFS');
    expect((await run('umount', [mnt])).code).toBe(0);
    await waitForExit(again.pid);
    forgetMount(again);
  });

  it('an fstab line (mount -T FILE MNT) with the options fstab and systemd add', async () => {
    const mnt = join(store.work, 'fstab');
    await fs.mkdir(mnt);
    const fstab = join(store.work, 'fstab.txt');
    await fs.writeFile(
      fstab,
      `# sinki at boot\n${store.path}  ${mnt}  fuse.sinki  password_file=${passwordFile},ro,noauto,nofail,_netdev,x-systemd.automount,noatime,snapshot=latest  0  0\n`,
    );
    const r = await mountCmd(['-T', fstab, mnt]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const m = trackMount(mnt);
    expect((await findmntOptions(mnt))[1]).toBe('ro');
    expect(await fs.readFile(join(mnt, 'written-at-boot.txt'), 'utf8')).toBe('kept\n'); // the snapshot the rw unmount took
    expect((await run('umount', [mnt])).code).toBe(0);
    await waitForExit(m.pid);
    forgetMount(m);
  });

  it('an fstab line without a password source fails at once with one line and exit 2, even on a terminal, and mounts nothing', async () => {
    const mnt = join(store.work, 'nopass');
    await fs.mkdir(mnt);
    const fstab = join(store.work, 'fstab-nopass.txt');
    await fs.writeFile(fstab, `${store.path} ${mnt} fuse.sinki ro,nofail 0 0\n`);
    const r = await mountCmd(['-T', fstab, mnt]);
    expectOneErrorLine(r, 2, /^sinki: no password source for .*: add password_file=PATH to the mount options/);
    // On a terminal (script(1) gives the command one), still no prompt: the same line, no waiting for input.
    const tty = await run('script', ['-qec', `mount -t fuse.sinki ${store.path} ${mnt} -o ro`, '/dev/null'], { env: BOOT_ENV });
    expect(tty.code).toBe(2);
    expect(tty.stdout.trim().split(/\r?\n/)).toEqual([expect.stringMatching(/^sinki: no password source for /)]);
    expect(await isMounted(mnt)).toBe(false);
  });

  it('a password file that cannot be read, or an unknown option, is one line and exit 2; -s (sloppy) ignores unknown options', async () => {
    const mnt = join(store.work, 'bad');
    await fs.mkdir(mnt);
    expectOneErrorLine(
      await mountCmd(['-t', 'fuse.sinki', store.path, mnt, '-o', `password_file=${join(store.work, 'missing')}`]),
      2,
      /cannot read --password-file .*missing: ENOENT/,
    );
    expectOneErrorLine(
      await mountCmd(['-t', 'fuse.sinki', store.path, mnt, '-o', `password_file=${passwordFile},ro,colour=blue`]),
      2,
      /^sinki: unknown mount option "colour=blue"/,
    );
    expect(await isMounted(mnt)).toBe(false);
    const sloppy = await mountCmd(['-s', '-t', 'fuse.sinki', store.path, mnt, '-o', `password_file=${passwordFile},ro,colour=blue`]);
    expect({ code: sloppy.code, stderr: sloppy.stderr }).toEqual({ code: 0, stderr: '' });
    const m = trackMount(mnt);
    expect((await run('umount', [mnt])).code).toBe(0);
    await waitForExit(m.pid);
    forgetMount(m);
  });

  it('a wrong password is exit 12 with one line, and nothing is left mounted', async () => {
    const mnt = join(store.work, 'wrong');
    await fs.mkdir(mnt);
    const wrong = join(store.work, 'wrong-password');
    await fs.writeFile(wrong, 'not it\n');
    expectOneErrorLine(await mountCmd(['-t', 'fuse.sinki', store.path, mnt, '-o', `password_file=${wrong}`]), 12);
    expect(await isMounted(mnt)).toBe(false);
  });

  it('sinki-mount@.service: its ExecStart mounts in the foreground; SIGTERM (systemctl stop) commits, snapshots and unmounts', async () => {
    const unit = await fs.readFile(new URL('../../contrib/sinki-mount@.service', import.meta.url), 'utf8');
    const [line] = execStartLines(unit);
    const mnt = join(store.work, 'unit');
    await fs.mkdir(mnt);
    const credentials = join(store.work, 'credentials');
    await fs.mkdir(credentials);
    await fs.copyFile(passwordFile, join(credentials, 'password'));
    const argv = execStartArgv(line!, {
      ...unitDefaults(unit),
      SINKI_STORE: store.path,
      SINKI_MOUNTPOINT: mnt,
      SINKI_MOUNT_OPTIONS: '--commit-delay 100ms',
      CREDENTIALS_DIRECTORY: credentials,
    });
    const env: NodeJS.ProcessEnv = { ...process.env, SINKI_STORE: store.path };
    delete env.SINKI_PASSWORD;
    const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    let log = '';
    child.stderr.on('data', (b: Buffer) => (log += b.toString()));
    await waitFor("the unit's mount", () => isMounted(mnt)).catch((err: Error) => {
      child.kill('SIGKILL');
      throw new Error(`${err.message}\n${log}`);
    });
    const m = trackMount(mnt);
    expect(m.pid).toBe(child.pid); // in the foreground: the process systemd watches is the mount
    await fs.writeFile(join(mnt, 'from-the-unit.txt'), 'unit\n');
    child.kill('SIGTERM'); // KillSignal=SIGTERM, KillMode=mixed: the main process first
    expect(await exited).toBe(0);
    forgetMount(m);
    expect(await isMounted(mnt)).toBe(false);
    expect(log).toMatch(/unmounted /);
    expect((await sinkiOk(['ls', 'latest'], { store: store.path })).stdout).toContain('/from-the-unit.txt');
  });

  it('sinki doctor says whether /sbin/mount.fuse.sinki is there and runs this installation', async () => {
    const helperCheck = async (): Promise<{ ok: boolean; detail: string; fix?: string }> => {
      const r = await run(process.execPath, [CLI, 'doctor', '--json']);
      return (JSON.parse(r.stdout) as Array<{ name: string; ok: boolean; detail: string; fix?: string }>).find((c) => c.name === 'mount.fuse.sinki')!;
    };
    expect(await helperCheck()).toMatchObject({ ok: true, detail: `${HELPER_LINK} -> ${await fs.realpath(HELPER)}` });
    await fs.rm(HELPER_LINK);
    try {
      expect(await helperCheck()).toMatchObject({
        ok: false,
        detail: expect.stringMatching(/missing: mount -t fuse.sinki and fstab lines will not work$/),
        fix: expect.stringContaining(`ln -sfn ${HELPER} ${HELPER_LINK}`),
      });
      await fs.symlink('/bin/true', HELPER_LINK);
      expect(await helperCheck()).toMatchObject({ ok: false, detail: expect.stringMatching(/runs \/(usr\/)?bin\/true, not this installation's /) });
    } finally {
      await fs.rm(HELPER_LINK, { force: true });
      await fs.symlink(HELPER, HELPER_LINK);
    }
  });
});
