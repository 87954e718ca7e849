import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initStore, jsonLine, run, sinki, sinkiOk } from '../helpers/cli.js';
import { pseudoRandomBytes, walk } from '../helpers/files.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';
import { fillLeaving, mountTmpfs, unmountTmpfsAll } from '../helpers/tmpfs.js';
import {
  diffManifests,
  hasFuse,
  isMounted,
  isRoot,
  KiB,
  manifestOf,
  mountStore,
  restoreAndCompare,
  unmountAll,
  unmountStore,
  type Manifest,
} from './helpers.js';

// (A full disk during backup is covered by test/integration/disk-full.test.ts.)

afterAll(async () => {
  await unmountAll();
  await unmountTmpfsAll();
  await removeTempDirs();
});

describe.skipIf(!isRoot)('prune on a nearly full disk', () => {
  let work: string;
  let pristine: string;
  let disk: string;
  let keptId: string;
  let kept: Manifest;

  beforeAll(async () => {
    work = await tempDir('enospc-prune');
    pristine = join(work, 'pristine');
    const src = join(work, 'src');
    await fs.mkdir(src);
    // Ten incompressible files share two packs; the second backup keeps every other one, so after
    // forget both packs are half unused and prune --max-unused 0 must write new packs (repack).
    for (let i = 0; i < 10; i++) await fs.writeFile(join(src, `f${i}.zip`), pseudoRandomBytes(`enospc-prune-${i}`, 200 * KiB));
    await initStore(pristine, ['--pack-size', '1M']);
    await sinkiOk(['backup', src], { store: pristine });
    for (let i = 0; i < 10; i += 2) await fs.rm(join(src, `f${i}.zip`));
    kept = manifestOf(src, 'src');
    keptId = jsonLine<{ snapshot_id: string }>((await sinkiOk(['backup', src, '--json'], { store: pristine })).stdout, 'summary').snapshot_id;
    await sinkiOk(['forget', '--keep-last', '1'], { store: pristine });
    const plan = jsonLine<{ repack_packs: number }>(
      (await sinkiOk(['prune', '--max-unused', '0', '--dry-run', '--json'], { store: pristine })).stdout,
      'prune',
    );
    expect(plan.repack_packs).toBeGreaterThanOrEqual(1);
    disk = join(work, 'disk');
    await mountTmpfs(disk, '8m');
  });

  // From almost nothing free (the new pack cannot be written) to enough for the repack to finish.
  it.each([
    [16 * KiB, true],
    [200 * KiB, true],
    [700 * KiB, true],
    [1200 * KiB, false],
  ])('with about %i bytes free (must fail: %s): exit 16 with one line or success; the store intact and clean', async (leave, mustFail) => {
    // A folder of its own per case: putting the pristine copy back where a case pruned would be a
    // rollback, which this machine remembers (docs/STORE-FORMAT.md, "Generations").
    for (const old of (await fs.readdir(disk)).filter((n) => n.startsWith('store-'))) await fs.rm(join(disk, old), { recursive: true, force: true });
    const store = join(disk, `store-${leave}`);
    await fs.cp(pristine, store, { recursive: true });
    const filler = await fillLeaving(disk, leave);
    const r = await sinki(['prune', '--max-unused', '0'], { store });
    if (r.code !== 0 || mustFail) {
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 16, stderr: expect.stringMatching(/^sinki: no space left on device[^\n]*\n$/) });
    }
    await fs.rm(filler);
    // Nothing half-written, no lock left; check --read-data finds no error and the snapshot restores.
    expect((await walk(store)).map((e) => e.rel).filter((p) => /(^|\/)\.tmp-/.test(p))).toEqual([]);
    expect(await fs.readdir(join(store, 'locks'))).toEqual([]);
    const check = await sinki(['check', '--read-data'], { store });
    expect({ code: check.code, errors: check.stderr.split('\n').filter((l) => l && !l.startsWith('note: ')) }).toEqual({ code: 0, errors: [] });
    const { result, problems } = await restoreAndCompare(store, keptId, kept, join(work, `restore-${leave}`), { allowMissing: false });
    expect({ code: result.code, problems }).toEqual({ code: 0, problems: [] });
    // With room again, prune finishes the job.
    await sinkiOk(['prune', '--max-unused', '0'], { store });
    const after = await sinki(['check', '--read-data'], { store });
    expect({ code: after.code, stderr: after.stderr }).toEqual({ code: 0, stderr: '' });
  });
});

describe.skipIf(!hasFuse)('mount writes on a full disk', () => {
  it('the writer gets ENOSPC ("No space left on device"), and what was committed before survives', async () => {
    const work = await tempDir('enospc-mount');
    const disk = join(work, 'disk');
    await mountTmpfs(disk, '10m');
    const store = join(disk, 'store');
    await initStore(store, ['--pack-size', '1M']);
    const mnt = join(work, 'mnt');
    await mountStore(store, mnt);
    const committed = pseudoRandomBytes('enospc-committed', 300 * KiB);
    await fs.writeFile(join(mnt, 'committed.zip'), committed);
    expect((await run('sync', [join(mnt, 'committed.zip')])).code).toBe(0);

    const filler = await fillLeaving(disk, 400 * KiB);
    await fs.writeFile(join(work, 'big.zip'), pseudoRandomBytes('enospc-big', 4096 * KiB));
    const dd = await run('dd', [`if=${join(work, 'big.zip')}`, `of=${join(mnt, 'big.zip')}`, 'bs=64k', 'conv=fsync', 'status=none']);
    expect(dd.code).not.toBe(0);
    expect(dd.stderr).toMatch(/No space left on device/);

    // Unmount while the disk is still full (its last commit may fail: that is logged), then free the space.
    await unmountStore(mnt);
    if (isMounted(mnt)) await run('fusermount', ['-uz', mnt]);
    await fs.rm(filler);
    const check = await sinki(['check', '--read-data'], { store });
    expect({ code: check.code, errors: check.stderr.split('\n').filter((l) => l && !l.startsWith('note: ')) }).toEqual({ code: 0, errors: [] });
    await mountStore(store, mnt);
    const live = manifestOf(mnt);
    const expected = new Map([['committed.zip', `f ${createHash('sha256').update(committed).digest('hex')}`]]);
    // big.zip may be there in part or not at all (it never synced); committed.zip must be intact.
    live.delete('big.zip');
    expect(diffManifests(expected, live)).toEqual([]);
    expect((await unmountStore(mnt)).code).toBe(0);
  });
});
