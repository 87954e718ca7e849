import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** A running mount answers `sinki snapshot` and `sinki umount` over a unix socket in a private folder. */
export type ControlRequest = { op: 'snapshot'; tags: string[] } | { op: 'unmount' } | { op: 'commit' } | { op: 'status' };
export type ControlReply = { ok: true; result?: unknown } | { ok: false; error: string; code?: string };

const CONTROL_DIR = join(tmpdir(), `sinki-control-${process.getuid?.() ?? 0}`);

export function storeSocketPath(repoId: string): string {
  return join(CONTROL_DIR, `${repoId}.sock`);
}

export function mountpointSocketPath(mountpoint: string): string {
  return join(CONTROL_DIR, `mnt-${createHash('sha256').update(resolve(mountpoint)).digest('hex').slice(0, 24)}.sock`);
}

export async function serveControl(paths: string[], handle: (req: ControlRequest) => Promise<unknown>): Promise<Server> {
  await fs.mkdir(CONTROL_DIR, { recursive: true, mode: 0o700 });
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
        (err: unknown) => socket.end(`${JSON.stringify({ ok: false, error: (err as Error).message, code: (err as { code?: string }).code } satisfies ControlReply)}\n`),
      );
    });
    socket.on('error', () => undefined);
  });
  const [first, ...aliases] = paths;
  await fs.rm(first!, { force: true });
  await new Promise<void>((res, rej) => server.listen(first!, res).once('error', rej));
  for (const alias of aliases) {
    await fs.rm(alias, { force: true });
    await fs.symlink(first!, alias);
  }
  server.on('close', () => {
    for (const p of paths) void fs.rm(p, { force: true });
  });
  return server;
}

/**
 * Sends one request; null when nothing listens there (no mount, or a dead one). `timeoutMs` null waits
 * as long as the mount keeps the connection open (it closes with the mount process).
 */
export function sendControl(path: string, req: ControlRequest, timeoutMs: number | null = 600_000): Promise<ControlReply | null> {
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
