import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run, sinkiOk } from '../helpers/cli.js';
import { packBytes, sha256, sha256File } from '../helpers/files.js';
import { cleanup, makeStore, MiB, mount, readLog, umount } from './harness.js';

/** Compressible text, no two chunks alike. */
function logText(size: number): Buffer {
  const lines: string[] = [];
  let length = 0;
  for (let i = 0; length < size; i++) {
    const line = `${String(i).padStart(9, '0')} GET /api/v1/items/${(i * 7919) % 100_003} 200 ${(i * 31) % 977}ms agent=sinki-test\n`;
    lines.push(line);
    length += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, size);
}

describe('writes that outrun the compressor', () => {
  afterAll(cleanup);

  it('a file copied in fast: unmount leaves the compressing to "sinki compact", which frees the uncompressed copies; a clean check', async () => {
    const store = await makeStore('deferred', ['--chunk-size', '1M']);
    const mnt = join(store.work, 'mnt');
    const data = logText(32 * MiB + 4321);
    const local = join(store.work, 'access.log');
    await fs.writeFile(local, data);
    const m = await mount(store, mnt);
    expect((await run('cp', [local, join(mnt, 'access.log')])).code).toBe(0);
    expect((await run('sync', [join(mnt, 'access.log')])).code).toBe(0);
    expect(await sha256File(join(mnt, 'access.log'))).toBe(sha256(data));
    await umount(m);

    const log = await readLog(mnt);
    expect(log).not.toMatch(/could not|failed|paused/);
    // Unmount did not wait for the compressor: the chunks still raw are left for later.
    const left = Number(/(\d+) chunks stay uncompressed until the next mount is idle or "sinki compact"/.exec(log)?.[1] ?? 0);
    expect(left).toBeGreaterThan(0);
    // One index segment per commit while mounted; merged into one at unmount.
    expect(await fs.readdir(join(store.path, 'index'))).toHaveLength(1);
    const compact = await sinkiOk(['compact'], { store: store.path });
    expect(compact.stdout).toContain(`compressed ${left} chunks that a mount had stored uncompressed`);
    // The text compresses ~10×: raw copies left behind would show here.
    expect(await packBytes(store.path)).toBeLessThan(data.length / 4);
    // The backlog is done: a second compact has nothing to compress.
    expect((await sinkiOk(['compact'], { store: store.path })).stdout).toContain('compressed 0 chunks');

    const check = await sinkiOk(['check', '--read-data'], { store: store.path });
    expect(check.stdout).toMatch(/no errors were found/);
    expect(check.stdout + check.stderr).not.toMatch(/no index names|unreferenced/);
    const target = join(store.work, 'restore');
    await sinkiOk(['restore', 'latest', target], { store: store.path });
    expect(await sha256File(join(target, 'access.log'))).toBe(sha256(data));

    // The same bytes again under --no-deferred-compression take no new space (same chunk ids).
    const before = await packBytes(store.path);
    const again = await mount(store, mnt, ['--no-deferred-compression']);
    expect((await run('cp', [local, join(mnt, 'copy.log')])).code).toBe(0);
    await umount(again);
    expect(await packBytes(store.path)).toBeLessThan(before + MiB);
    expect((await fs.readdir(join(store.path, 'index'))).length).toBeLessThanOrEqual(2);
  });
});
