import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sendControl, serveControl } from '../../../src/fuse/control.js';
import { removeTempDirs, tempDir } from '../../helpers/temp.js';

afterAll(removeTempDirs);

const close = (server: { close: (cb: () => void) => void }): Promise<void> => new Promise((r) => server.close(() => r()));
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 100));

describe('control socket', () => {
  it('answers requests, and its socket and alias are gone once it closes', async () => {
    const dir = await tempDir('control');
    const [path, alias] = [join(dir, 'a.sock'), join(dir, 'alias.sock')];
    const server = await serveControl([path, alias], async (req) => req.op);
    expect(await sendControl(alias, { op: 'status' })).toEqual({ ok: true, result: 'status' });
    await close(server);
    await settle();
    expect(await fs.readdir(dir)).toEqual([]);
    expect(await sendControl(path, { op: 'status' })).toBeNull();
  });

  it('a server closing late leaves alone the socket a newer server put at the same place', async () => {
    const dir = await tempDir('control');
    const [path, alias] = [join(dir, 'b.sock'), join(dir, 'alias.sock')];
    const old = await serveControl([path, alias], async () => 'old');
    const fresh = await serveControl([path, alias], async () => 'new');
    await close(old);
    await settle();
    expect(await sendControl(path, { op: 'status' })).toEqual({ ok: true, result: 'new' });
    expect(await sendControl(alias, { op: 'status' })).toEqual({ ok: true, result: 'new' });
    await close(fresh);
  });

  it('a socket a killed server left is cleared by the next server at that place; a live one is kept', async () => {
    const dir = await tempDir('control');
    const path = join(dir, 'c.sock');
    const dead = await new Promise<number>((r) => {
      const child = spawn('true');
      child.once('exit', () => r(child.pid!));
    });
    await fs.writeFile(`${path}.${dead}-abcdef`, '');
    await fs.writeFile(`${path}.${process.pid}-abcdef`, '');
    const server = await serveControl([path], async () => 'ok');
    expect((await fs.readdir(dir)).filter((n) => n.endsWith('-abcdef'))).toEqual([`c.sock.${process.pid}-abcdef`]);
    await close(server);
  });
});
