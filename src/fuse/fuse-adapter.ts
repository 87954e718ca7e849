/* The one typed wrapper around fuse-native: promise-returning ops in, callbacks and errnos out. */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants } from 'node:os';
import { CODE_TABLE, SinkiError } from '../errors.js';
import { fusermount } from '../sys/fusermount.js';
import { fuseMountedAt } from '../sys/mounts.js';

const require = createRequire(import.meta.url);

export const errno = constants.errno;

/** A POSIX error for the kernel (ENOENT, EROFS, ...). */
export class FsError extends Error {
  constructor(
    readonly errno: number,
    message = '',
  ) {
    super(message);
  }
}

const fsErrors = new Map<string, FsError>();

/**
 * The error for an errno, one shared instance per name: it carries nothing but the number, and the
 * kernel asks for names that do not exist (ENOENT) before every create, where a stack trace a
 * time would cost more than the lookup.
 */
export function fsError(name: keyof typeof constants.errno): FsError {
  let err = fsErrors.get(name);
  if (!err) {
    err = new FsError(constants.errno[name], name);
    fsErrors.set(name, err);
  }
  return err;
}

export interface Attr {
  /** Stable for the life of the mount; readdir reports the same number. */
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** 512-byte units the data takes (holes take none). */
  blocks: number;
  nlink: number;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

/** A readdir entry: what the kernel keeps of it (inode number and type), and nothing that costs a lookup. */
export interface DirEntry {
  name: string;
  ino: number;
  /** The S_IFMT bits (they become d_type). */
  type: number;
}

export interface StatFs {
  bsize: number;
  /** The unit of blocks/bfree/bavail (df reads it; 0 would leave it to the kernel). */
  frsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  namemax: number;
}

export interface FsOps {
  getattr(path: string): Promise<Attr>;
  readdir(path: string): Promise<DirEntry[]>;
  open(path: string, flags: number): Promise<number>;
  create(path: string, mode: number): Promise<number>;
  read(path: string, fd: number, buf: Buffer, len: number, pos: number): Promise<number>;
  write(path: string, fd: number, buf: Buffer, len: number, pos: number): Promise<number>;
  fsync(path: string): Promise<void>;
  release(path: string, fd: number): Promise<void>;
  truncate(path: string, size: number): Promise<void>;
  unlink(path: string): Promise<void>;
  rename(src: string, dest: string): Promise<void>;
  mkdir(path: string, mode: number): Promise<void>;
  rmdir(path: string): Promise<void>;
  symlink(target: string, path: string): Promise<void>;
  readlink(path: string): Promise<string>;
  link(src: string, dest: string): Promise<void>;
  chmod(path: string, mode: number): Promise<void>;
  chown(path: string, uid: number, gid: number): Promise<void>;
  /** Nanoseconds since the epoch; null: leave that time as it is (UTIME_OMIT). */
  utimens(path: string, atimeNs: bigint | null, mtimeNs: bigint | null): Promise<void>;
  statfs(path: string): Promise<StatFs>;
  access(path: string, mode: number): Promise<void>;
}

export interface MountOptions {
  /** The log line for an op that failed with an unexpected error (EIO). */
  onError: (op: string, path: string, err: unknown) => void;
  readOnly: boolean;
  /** 128 KiB writes instead of libfuse 2.9's 4 KiB (off only to measure the difference). */
  bigWrites: boolean;
  /** Use the patched fuse-native when it is built (off only to see what the shipped one does). */
  patchedFuseNative: boolean;
  /** Told of every operation as it is answered: its name, path, result (0 or -errno) and start time (performance.now()). */
  trace?: (op: string, path: string, code: number, startedMs: number) => void;
}

interface FuseInstance {
  mount(cb: (err: Error | null) => void): void;
  unmount(cb: (err: Error | null) => void): void;
}

/**
 * native-deps/build-fuse-native-patched.sh: fuse-native with utimens passing both times (2.2.6 passes
 * the atime twice) and every time carrying nanoseconds (2.2.6 cuts them to milliseconds).
 */
const PATCHED_FUSE_NATIVE = fileURLToPath(new URL('../../native-deps/build/fuse-native-patched/index.js', import.meta.url));
/** What the current patch sets on the module; a build from an older patch lacks it and is not used. */
export const PATCH_LEVEL = 2;
/** The shipped module folds UTIME_NOW and UTIME_OMIT (seconds 0, special nanoseconds) into 1073 ms. */
const SHIPPED_UTIME_SPECIAL_MS = 1073;
/** st_blksize, the I/O size programs prefer (cp, cat, tar): one FUSE request, max_read and max_write. */
const PREFERRED_IO_SIZE = 128 * 1024;

export interface FuseNative {
  module: unknown;
  patched: boolean;
  /** Where the module came from: the stale patch is a build from an older patch, left unused. */
  build: 'patched' | 'stale-patch' | 'shipped';
}

/**
 * The patched fuse-native when it is built from the current patch (and allowed), else the shipped
 * one: then mtimes set by cp -a are lost and times are whole milliseconds.
 */
export function loadFuseNative(allowPatched = true): FuseNative {
  let build: FuseNative['build'] = 'shipped';
  if (allowPatched && existsSync(PATCHED_FUSE_NATIVE)) {
    try {
      const module = require(PATCHED_FUSE_NATIVE) as { SINKI_PATCH_LEVEL?: number };
      if (module.SINKI_PATCH_LEVEL === PATCH_LEVEL) return { module, patched: true, build: 'patched' };
      build = 'stale-patch';
    } catch {
      // A build that does not load counts as missing.
    }
  }
  return { module: require('fuse-native'), patched: false, build };
}

/** The shipped module's utimens arguments (milliseconds, the atime twice) as the ops take them. */
function shippedUtimeArgs(atimeMs: number): [bigint, bigint] {
  // The best guess is that both times were meant.
  const ms = Math.floor(atimeMs) === SHIPPED_UTIME_SPECIAL_MS ? Date.now() : Math.floor(atimeMs);
  const ns = BigInt(ms) * 1_000_000n;
  return [ns, ns];
}

type FuseClass = new (mnt: string, ops: Record<string, unknown>, opts: Record<string, unknown>) => FuseInstance;

/**
 * libfuse 2.9 writes in 4 KiB pieces unless big_writes is on, and fuse-native has no option for it:
 * the subclass appends big_writes and max_write to the options it builds (measured in docs/BENCHMARKS.md).
 */
function fuseClass(native: FuseNative, readOnly: boolean, bigWrites: boolean): FuseClass {
  const Fuse = native.module as FuseClass & { prototype: { _fuseOptions(): string } };
  class SinkiFuse extends (Fuse as unknown as new (...a: unknown[]) => { _fuseOptions(): string }) {
    override _fuseOptions(): string {
      const base = super._fuseOptions();
      // use_ino: st_ino and readdir's d_ino are the node's own number (else libfuse puts its own in
      // stat and FUSE_UNKNOWN_INO in readdir, and the two never match).
      const extra = `${bigWrites ? `big_writes,max_write=${PREFERRED_IO_SIZE},` : ''}max_read=${PREFERRED_IO_SIZE},auto_cache,use_ino${readOnly ? ',ro' : ''}`;
      return base ? `${base},${extra}` : `-o${extra}`;
    }
  }
  return SinkiFuse as unknown as FuseClass;
}

export function toErrno(err: unknown): number {
  if (err instanceof FsError) return -err.errno;
  if (err instanceof SinkiError) return -CODE_TABLE[err.code].errno;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code && code in constants.errno) return -constants.errno[code as keyof typeof constants.errno];
  return -constants.errno.EIO;
}

function isExpected(err: unknown): boolean {
  return err instanceof FsError || (err instanceof SinkiError && err.code !== 'CORRUPT' && err.code !== 'FATAL' && err.code !== 'IO');
}

export interface MountedFs {
  unmount(): Promise<void>;
  /** Which fuse-native serves the mount. */
  fuseNative: FuseNative['build'];
}

const msDate = (ns: bigint): Date => new Date(Number(ns / 1_000_000n));

export async function mountFuse(mountpoint: string, ops: FsOps, options: MountOptions): Promise<MountedFs> {
  const native = loadFuseNative(options.patchedFuseNative);
  const Fuse = fuseClass(native, options.readOnly, options.bigWrites);
  const fail = (op: string, path: string, err: unknown): number => {
    if (!isExpected(err)) options.onError(op, path, err);
    return toErrno(err);
  };
  type Cb = (code: number, value?: unknown) => void;
  const plain =
    <A extends unknown[]>(name: string, fn: (...a: A) => Promise<unknown>) =>
    (...args: unknown[]): void => {
      const cb = args.pop() as Cb;
      fn(...(args as A)).then(
        (value) => cb(0, value),
        (err: unknown) => cb(fail(name, String(args[0]), err)),
      );
    };
  const count =
    (name: string, fn: (path: string, fd: number, buf: Buffer, len: number, pos: number) => Promise<number>) =>
    (path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (n: number) => void): void => {
      fn(path, fd, buf, len, pos).then(cb, (err: unknown) => cb(fail(name, path, err)));
    };
  const patched = native.patched;
  // The patched module reads the *Ns fields; the shipped one reads Dates (whole milliseconds).
  const times = patched
    ? (a: Attr): Record<string, unknown> => ({ atimeNs: a.atimeNs, mtimeNs: a.mtimeNs, ctimeNs: a.ctimeNs })
    : (a: Attr): Record<string, unknown> => ({ atime: msDate(a.atimeNs), mtime: msDate(a.mtimeNs), ctime: msDate(a.ctimeNs) });
  const toStat = (a: Attr): Record<string, unknown> => ({
    ino: a.ino,
    mode: a.mode,
    uid: a.uid,
    gid: a.gid,
    size: a.size,
    blocks: a.blocks,
    blksize: PREFERRED_IO_SIZE,
    nlink: a.nlink,
    ...times(a),
  });
  // readdir with a stat per entry: libfuse keeps st_ino (with use_ino) and the type bits (d_type)
  // and nothing else, so no times.
  const entryStat = (e: DirEntry): Record<string, unknown> => ({ ino: e.ino, mode: e.type });

  const handlers: Record<string, unknown> = {
    getattr: plain('getattr', async (p: string) => toStat(await ops.getattr(p))),
    readdir: (p: string, cb: (code: number, names?: string[], stats?: Array<Record<string, unknown>>) => void): void => {
      ops.readdir(p).then(
        (entries) =>
          cb(
            0,
            entries.map((e) => e.name),
            entries.map(entryStat),
          ),
        (err: unknown) => cb(fail('readdir', p, err)),
      );
    },
    open: plain('open', (p: string, flags: number) => ops.open(p, flags)),
    read: count('read', (p, fd, buf, len, pos) => ops.read(p, fd, buf, len, pos)),
    release: plain('release', (p: string, fd: number) => ops.release(p, fd)),
    readlink: plain('readlink', (p: string) => ops.readlink(p)),
    statfs: plain('statfs', (p: string) => ops.statfs(p)),
    access: plain('access', (p: string, mode: number) => ops.access(p, mode)),
    // No flush: there is nothing to do at close (fsync and commits make data durable), and once
    // libfuse answers ENOSYS for it the kernel stops sending FLUSH, a round trip less per close.
    fsync: plain('fsync', (p: string) => ops.fsync(p)),
    // Without it the kernel answers fsync of a directory itself, and a rename followed by fsync of
    // its directory (the usual atomic save) would not be durable.
    fsyncdir: plain('fsyncdir', (p: string) => ops.fsync(p)),
  };
  Object.assign(handlers, {
    create: plain('create', (p: string, mode: number) => ops.create(p, mode)),
    write: count('write', (p, fd, buf, len, pos) => ops.write(p, fd, buf, len, pos)),
    truncate: plain('truncate', (p: string, size: number) => ops.truncate(p, size)),
    ftruncate: plain('ftruncate', (p: string, _fd: number, size: number) => ops.truncate(p, size)),
    unlink: plain('unlink', (p: string) => ops.unlink(p)),
    rename: plain('rename', (s: string, d: string) => ops.rename(s, d)),
    mkdir: plain('mkdir', (p: string, mode: number) => ops.mkdir(p, mode)),
    rmdir: plain('rmdir', (p: string) => ops.rmdir(p)),
    symlink: plain('symlink', (target: string, p: string) => ops.symlink(target, p)),
    link: plain('link', (s: string, d: string) => ops.link(s, d)),
    chmod: plain('chmod', (p: string, mode: number) => ops.chmod(p, mode)),
    chown: plain('chown', (p: string, uid: number, gid: number) => ops.chown(p, uid, gid)),
    utimens: patched
      ? plain('utimens', (p: string, a: bigint | null, m: bigint | null) => ops.utimens(p, a, m))
      : plain('utimens', (p: string, a: number) => ops.utimens(p, ...shippedUtimeArgs(a))),
  });

  if (options.trace) traceHandlers(handlers, options.trace);
  const fuse = new Fuse(mountpoint, handlers, { force: true, timeout: false, fsname: 'sinki', subtype: 'sinki', defaultPermissions: true, allowOther: false });
  await new Promise<void>((resolve, reject) =>
    fuse.mount((err) => {
      if (!err) return resolve();
      const msg = err.message ?? String(err);
      reject(new SinkiError(/fuse|device/i.test(msg) ? 'NO_FUSE' : 'FATAL', `cannot mount at ${mountpoint}: ${msg}`));
    }),
  );
  return {
    fuseNative: native.build,
    // Not fuse.unmount(): it runs `fusermount -uz` through a shell with the path quoted for JSON,
    // not for the shell, so a tab, a backslash or a `$` in the mountpoint's name breaks it (or runs
    // it). Ours runs without a shell, and is skipped when the mount went from outside (fusermount -u);
    // then the FUSE thread is let go of, or its event-loop handle would keep this process alive.
    unmount: async () => {
      if (await fuseMountedAt(mountpoint)) await fusermount(['-uz'], mountpoint);
      fuseBinding(native).fuse_native_unmount(mountpoint, (fuse as unknown as { _thread: Buffer })._thread);
    },
  };
}

/** Wraps every handler so that `trace` hears of each answer (the callback is always the last argument). */
function traceHandlers(handlers: Record<string, unknown>, trace: NonNullable<MountOptions['trace']>): void {
  for (const [op, handler] of Object.entries(handlers)) {
    const fn = handler as (...args: unknown[]) => void;
    handlers[op] = (...args: unknown[]): void => {
      const cb = args.pop() as (code: number, ...rest: unknown[]) => void;
      const started = performance.now();
      fn(...args, (code: number, ...rest: unknown[]) => {
        trace(op, String(args[0]), code, started);
        cb(code, ...rest);
      });
    };
  }
}

/** The native binding of the fuse-native in use (node caches it: the same instance the class uses). */
function fuseBinding(native: FuseNative): { fuse_native_unmount(mountpoint: string, thread: Buffer): void } {
  const entry = native.patched ? PATCHED_FUSE_NATIVE : require.resolve('fuse-native');
  return createRequire(entry)('node-gyp-build')(dirname(entry)) as { fuse_native_unmount(mountpoint: string, thread: Buffer): void };
}
