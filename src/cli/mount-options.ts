import { SinkiError } from '../errors.js';

/** What mount(8) hands a `mount.fuse.sinki` helper, translated into a `sinki mount` command line. */
export interface HelperCommand {
  /** Arguments for `sinki` (global flags, then `mount MOUNTPOINT --background ...`). */
  args: string[];
  /** -f: mount(8) asks for a fake mount (everything but the mount itself). */
  fake: boolean;
  /** -v: show what `sinki mount` prints. */
  verbose: boolean;
}

/** `-o` options that take a value, and the sinki flag each becomes. Global flags come before `mount`. */
const VALUE_OPTIONS: Readonly<Record<string, { flag: string; global: boolean }>> = {
  password_file: { flag: '--password-file', global: true },
  key: { flag: '--key', global: true },
  cache_dir: { flag: '--cache-dir', global: true },
  cache_max_size: { flag: '--cache-max-size', global: true },
  rclone: { flag: '--rclone', global: true },
  snapshot: { flag: '--snapshot', global: false },
  write_buffer: { flag: '--write-buffer', global: false },
  cache_size: { flag: '--cache-size', global: false },
  snapshot_every: { flag: '--snapshot-every', global: false },
  commit_delay: { flag: '--commit-delay', global: false },
};

/** `-o` switches that become a sinki flag. */
const SWITCHES: Readonly<Record<string, string>> = {
  ro: '--read-only',
  no_snapshot_on_unmount: '--no-snapshot-on-unmount',
  no_deferred_compression: '--no-deferred-compression',
  allow_rollback: '--allow-rollback',
};

/**
 * Options that are mount(8)'s, fstab's or systemd's business, or the kernel's defaults for a FUSE
 * mount anyway: accepted and dropped.
 */
const IGNORED = new Set([
  'rw',
  'defaults',
  'auto',
  'noauto',
  'user',
  'nouser',
  'users',
  'owner',
  'group',
  'nofail',
  '_netdev',
  'nodev',
  'nosuid',
  'dev',
  'suid',
  'exec',
  'noexec',
  'async',
  'atime',
  'noatime',
  'relatime',
  'norelatime',
  'strictatime',
  'diratime',
  'nodiratime',
  'lazytime',
  'nolazytime',
  'loud',
  'silent',
]);

const isIgnored = (name: string): boolean => IGNORED.has(name) || name.startsWith('x-') || name.startsWith('comment=');

/** `a,b=c,d` → ['a', 'b=c', 'd']; empty items (`a,,b`) dropped. */
export function splitMountOptions(text: string): string[] {
  return text.split(',').filter((o) => o.length > 0);
}

/**
 * mount(8) runs `/sbin/mount.fuse.sinki STORE MOUNTPOINT [-sfnv] [-o OPTIONS] [-t TYPE]`. Unknown
 * options are a usage error (ignored with -s, mount's "sloppy"). A mount at boot has no terminal, so
 * a password source is required: `password_file=` or SINKI_PASSWORD in the environment.
 */
export function helperCommand(argv: readonly string[], env: { SINKI_PASSWORD?: string }): HelperCommand {
  const positional: string[] = [];
  const options: string[] = [];
  let sloppy = false;
  let fake = false;
  let verbose = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-o') {
      const value = argv[++i];
      if (value === undefined) throw new SinkiError('USAGE', 'mount.fuse.sinki: -o needs a value');
      options.push(...splitMountOptions(value));
    } else if (a.startsWith('-o') && a.length > 2) options.push(...splitMountOptions(a.slice(2)));
    else if (a === '-t' || a === '-N')
      i++; // the type (fuse.sinki); a mount namespace (newer mount(8)s), which is mount's business
    else if (/^-[sfnvi]+$/.test(a)) {
      sloppy ||= a.includes('s');
      fake ||= a.includes('f');
      verbose ||= a.includes('v');
    } else if (a.startsWith('-') && a !== '-') throw new SinkiError('USAGE', `mount.fuse.sinki: unknown argument ${a}`);
    else positional.push(a);
  }
  if (positional.length !== 2) throw new SinkiError('USAGE', 'usage: mount.fuse.sinki STORE MOUNTPOINT [-o OPTIONS] (as mount -t fuse.sinki runs it)');
  const [store, mountpoint] = positional as [string, string];
  const globals = ['--store', store];
  const mountFlags: string[] = [];
  let passwordGiven = env.SINKI_PASSWORD !== undefined;
  for (const opt of options) {
    const eq = opt.indexOf('=');
    const name = eq < 0 ? opt : opt.slice(0, eq);
    const value = eq < 0 ? undefined : opt.slice(eq + 1);
    const valued = VALUE_OPTIONS[name];
    if (valued) {
      if (!value) throw new SinkiError('USAGE', `mount option ${name} needs a value (${name}=...)`);
      (valued.global ? globals : mountFlags).push(valued.flag, value);
      if (name === 'password_file') passwordGiven = true;
    } else if (SWITCHES[name] && value === undefined) mountFlags.push(SWITCHES[name]);
    else if (isIgnored(opt) || isIgnored(name)) continue;
    else if (!sloppy) throw new SinkiError('USAGE', `unknown mount option "${opt}" (see "Mounting at boot" in the README)`);
  }
  if (!passwordGiven) {
    throw new SinkiError('USAGE', `no password source for ${store}: add password_file=PATH to the mount options (there is no terminal to ask on at boot)`);
  }
  return { args: [...globals, 'mount', mountpoint, '--background', ...mountFlags], fake, verbose };
}
