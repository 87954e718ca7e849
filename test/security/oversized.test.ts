/* A planted file far larger than its kind can be is refused as damage before it is buffered. */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBackend } from '../../src/backend/local.js';
import { GuardedBackend } from '../../src/repo/guarded-backend.js';
import { maxObjectBytes } from '../../src/repo/layout.js';
import { expectOneErrorLine, initStore, run, sinki, sinkiOk } from '../helpers/cli.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';

const GiB = 2 ** 30;
const HEX64 = 'cd'.repeat(32);

/** A sparse file: its size costs no disk, but reading it whole would allocate that much. */
async function sparse(path: string, size: number): Promise<void> {
  const h = await fs.open(path, 'w');
  await h.truncate(size);
  await h.close();
}

describe('objects larger than their kind', () => {
  let work: string;
  let store: string;

  beforeAll(async () => {
    work = await tempDir('sec-oversized');
    store = join(work, 'store');
    const src = join(work, 'src');
    await fs.mkdir(src);
    await fs.writeFile(join(src, 'a.txt'), 'a\n');
    await initStore(store);
    await sinkiOk(['backup', src], { store });
  });

  afterAll(removeTempDirs);

  it('caps by kind: small metadata, larger segments, packs up to the largest pack size', () => {
    expect(maxObjectBytes('sinki.json')).toBeLessThanOrEqual(2 ** 20);
    expect(maxObjectBytes('keys/x.json')).toBeLessThanOrEqual(2 ** 20);
    expect(maxObjectBytes('refs/head')).toBeLessThanOrEqual(2 ** 20);
    expect(maxObjectBytes(`snapshots/${HEX64}`)).toBeLessThan(GiB);
    expect(maxObjectBytes(`packs/cd/${HEX64}`)).toBeGreaterThanOrEqual(GiB);
  });

  it('a local read of a 3 GiB sparse snapshot file is refused as CORRUPT without allocating it', async () => {
    const path = join(store, 'snapshots', HEX64);
    await sparse(path, 3 * GiB);
    try {
      const before = process.memoryUsage().rss;
      await expect(new GuardedBackend(new LocalBackend(store)).read(`snapshots/${HEX64}`)).rejects.toMatchObject({
        code: 'CORRUPT',
        message: expect.stringMatching(/3221225472 bytes, more than such a file can be/),
      });
      expect(process.memoryUsage().rss - before).toBeLessThan(512 * 2 ** 20);
      expectOneErrorLine(await sinki(['snapshots'], { store }), 13, /snapshots\/cd.* is 3221225472 bytes/);
    } finally {
      await fs.rm(path);
    }
  });

  it('through an rclone remote, the download of an oversized object is cut off and reported (exit 13)', async () => {
    const remote = join(work, 'remote');
    await run('cp', ['-a', store, remote]);
    await sparse(join(remote, 'snapshots', HEX64), 3 * GiB);
    const r = await sinki(['-s', `rclone:${remote}`, 'snapshots'], {});
    expectOneErrorLine(r, 13, /snapshots\/cd.* is \d+ bytes, more than such a file can be/);
  });
});
