import { describe, expect, it } from 'vitest';
import { helperCommand, splitMountOptions } from '../../../src/cli/mount-options.js';
import { isSinkiError } from '../../../src/errors.js';

function usageError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (isSinkiError(err, 'USAGE')) return err.message;
    throw err;
  }
  throw new Error('no error');
}

describe('mount.fuse.sinki: mount(8) arguments into a sinki command line', () => {
  it('store, mountpoint and -o options become global flags, then mount --background and its flags', () => {
    const cmd = helperCommand(
      [
        '/srv/store',
        '/mnt/x',
        '-o',
        'rw,password_file=/etc/sinki/pw,key=k1,cache_size=64M,snapshot_every=1h,x-systemd.automount,_netdev,nofail,no_snapshot_on_unmount',
      ],
      {},
    );
    expect(cmd).toEqual({
      args: [
        '--store',
        '/srv/store',
        '--password-file',
        '/etc/sinki/pw',
        '--key',
        'k1',
        'mount',
        '/mnt/x',
        '--background',
        '--cache-size',
        '64M',
        '--snapshot-every',
        '1h',
        '--no-snapshot-on-unmount',
      ],
      fake: false,
      verbose: false,
    });
  });

  it('ro is --read-only; -f is a fake mount, -v shows output; -n, -t TYPE and -N NS are accepted', () => {
    const cmd = helperCommand(['-n', 's', 'm', '-fv', '-t', 'fuse.sinki', '-N', '1234', '-oro,password_file=p'], {});
    expect(cmd).toEqual({ args: ['--store', 's', '--password-file', 'p', 'mount', 'm', '--background', '--read-only'], fake: true, verbose: true });
  });

  it('SINKI_PASSWORD in the environment is a password source; without any, a usage error naming password_file', () => {
    expect(helperCommand(['s', 'm'], { SINKI_PASSWORD: 'x' }).args).toEqual(['--store', 's', 'mount', 'm', '--background']);
    expect(usageError(() => helperCommand(['s', 'm', '-o', 'ro'], {}))).toMatch(/^no password source for s: add password_file=PATH/);
  });

  it('unknown options are refused unless sloppy (-s); valued options need a value; two positionals exactly', () => {
    expect(usageError(() => helperCommand(['s', 'm', '-o', 'password_file=p,colour=blue'], {}))).toBe(
      'unknown mount option "colour=blue" (see "Mounting at boot" in the README)',
    );
    expect(helperCommand(['-s', 's', 'm', '-o', 'password_file=p,colour=blue'], {}).args).not.toContain('colour=blue');
    expect(usageError(() => helperCommand(['s', 'm', '-o', 'password_file='], {}))).toMatch(/password_file needs a value/);
    expect(usageError(() => helperCommand(['s', 'm', '-o', 'ro=1,password_file=p'], {}))).toMatch(/unknown mount option "ro=1"/);
    expect(usageError(() => helperCommand(['s'], {}))).toMatch(/^usage: mount.fuse.sinki STORE MOUNTPOINT/);
    expect(usageError(() => helperCommand(['s', 'm', '--weird'], {}))).toMatch(/unknown argument --weird/);
  });

  it('splitMountOptions drops empty items', () => {
    expect(splitMountOptions('a,,b=c,')).toEqual(['a', 'b=c']);
  });
});
