import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { SinkiError } from '../errors.js';
import { processAlive } from '../sys/process.js';

/**
 * A running mount answers `sinki snapshot` and `sinki umount` over a unix socket in a private folder:
 * one that this user owns, mode 0700, not a symlink. Under a shared /tmp another user could make the
 * folder first and answer in the mount's place; such a folder is refused, never used.
 */
export type ControlRequest = { op: 'snapshot'; tags: string[] } | { op: 'unmount' } | { op: 'commit' } | { op: 'status' };
export type ControlReply = { ok: true; result?: unknown } | { ok: false; error: string; code?: string };

/** `$XDG_RUNTIME_DIR/sinki` (private to the user by design), else a per-user folder in the temp folder. */
export function controlDir(xdgRuntimeDir: string | undefined): string {
  return xdgRuntimeDir ? join(xdgRuntimeDir, 'sinki') : join(tmpdir(), `sinki-control-${process.getuid?.() ?? 0}`);
}

export function storeSocketPath(dir: string, repoId: string): string {
  return join(dir, `${repoId}.sock`);
}

export function mountpointSocketPath(dir: string, mountpoint: string): string {
  return join(dir, `mnt-${createHash('sha256').update(resolve(mountpoint)).digest('hex').slice(0, 24)}.sock`);
}

/**
 * Throws unless `dir` is a real folder (not a symlink) that this user owns and nobody else may enter.
 * `create`: make it first if it is missing. Returns false when it is missing and not to be made.
 */
export async function checkPrivateDir(dir: string, create: boolean): Promise<boolean> {
  if (create) {
    await fs.mkdir(dir, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  }
  const st = await fs.lstat(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  if (!st) return false;
  const uid = process.getuid?.() ?? 0;
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o077) !== 0) {
    const what = st.isSymbolicLink()
      ? 'a symlink'
      : !st.isDirectory()
        ? 'not a folder'
        : st.uid !== uid
          ? `owned by uid ${st.uid}`
          : `open to others (mode ${(st.mode & 0o777).toString(8)})`;
    throw new SinkiError(
      'FATAL',
      `the mount control folder ${dir} is ${what}, so it cannot be trusted; remove it (or set XDG_RUNTIME_DIR to a private folder)`,
    );
  }
  return true;
}

export async function serveControl(paths: string[], handle: (req: ControlRequest) => Promise<unknown>): Promise<Server> {
  await checkPrivateDir(dirname(paths[0]!), true);
  const server = createServer((socket) => {
    let buffer = '';
    socket.on('data', (data) => {
      buffer += data.toString();
      const nl = buffer.indexOf('\n');
      if (nl < 0) return;
      const line = buffer.slice(0, nl);
      let req: ControlRequest;
      try {
        req = JSON.parse(line) as ControlRequest;
      } catch {
        socket.end(`${JSON.stringify({ ok: false, error: 'bad request' })}\n`);
        return;
      }
      handle(req).then(
        (result) => socket.end(`${JSON.stringify({ ok: true, result } satisfies ControlReply)}\n`),
        (err: unknown) =>
          socket.end(`${JSON.stringify({ ok: false, error: (err as Error).message, code: (err as { code?: string }).code } satisfies ControlReply)}\n`),
      );
    });
    socket.on('error', () => undefined);
  });
  // Each server listens on a name of its own, and every path given is a symlink to it, swapped in
  // atomically. Closing removes the socket (libuv unlinks it) and those symlinks that still point to
  // it: a mount started at the same place meanwhile (this one may close late, after compressing at
  // unmount) keeps its own.
  await removeDeadSockets(paths[0]!);
  const own = `${paths[0]!}.${process.pid}-${randomBytes(3).toString('hex')}`;
  await new Promise<void>((res, rej) => server.listen(own, res).once('error', rej));
  await fs.chmod(own, 0o600);
  for (const p of paths) {
    const tmp = `${own}.link`;
    await fs.rm(tmp, { force: true });
    await fs.symlink(own, tmp);
    await fs.rename(tmp, p);
  }
  server.on('close', () => {
    for (const p of paths) {
      void fs.readlink(p).then(
        (target) => (target === own ? fs.rm(p, { force: true }) : undefined),
        () => undefined,
      );
    }
  });
  return server;
}

/** Sockets that killed mounts left beside `path` (named `<path>.<pid>-<random>`, pid no longer running). */
async function removeDeadSockets(path: string): Promise<void> {
  const prefix = `${basename(path)}.`;
  for (const name of await fs.readdir(dirname(path)).catch((): string[] => [])) {
    const pid = name.startsWith(prefix) ? Number(/^(\d+)-[0-9a-f]+$/.exec(name.slice(prefix.length))?.[1]) : NaN;
    if (Number.isInteger(pid) && pid > 0 && !processAlive(pid)) await fs.rm(join(dirname(path), name), { force: true });
  }
}

/**
 * Sends one request; null when nothing listens there (no mount, or a dead one). `timeoutMs` null waits
 * as long as the mount keeps the connection open (it closes with the mount process).
 */
export async function sendControl(path: string, req: ControlRequest, timeoutMs: number | null = 600_000): Promise<ControlReply | null> {
  if (!(await checkPrivateDir(dirname(path), false))) return null;
  return new Promise((resolveReply) => {
    const socket = createConnection(path);
    let buffer = '';
    const timer =
      timeoutMs === null
        ? undefined
        : setTimeout(() => {
            socket.destroy();
            resolveReply({ ok: false, error: 'the mount did not answer in time' });
          }, timeoutMs);
    socket.on('connect', () => socket.write(`${JSON.stringify(req)}\n`));
    socket.on('data', (d) => (buffer += d.toString()));
    socket.on('end', () => {
      clearTimeout(timer);
      try {
        resolveReply(JSON.parse(buffer) as ControlReply);
      } catch {
        resolveReply({ ok: false, error: 'bad reply from the mount' });
      }
    });
    socket.on('error', () => {
      clearTimeout(timer);
      resolveReply(null);
    });
  });
}
