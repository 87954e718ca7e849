/*
 * Someone who can write the store (or the remote) but holds no key puts back older files: an old
 * refs/head, a forgotten snapshot, a pruned index segment, or a whole old copy. Generations
 * (docs/STORE-FORMAT.md, "Generations") make each of these exit 13 with one line, or a warning
 * and exit 0 with --allow-rollback; writers sharing the store never trip them.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOneErrorLine, initStore, sinki, sinkiOk } from '../helpers/cli.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';
import { cleanup, mount, umount } from '../fuse/harness.js';

const ROLLED_BACK = /^sinki: the store was rolled back or tampered with: /;

/** Exit 0 with one warning line saying what was found. */
function expectWarnedAndWent(r: { code: number; stderr: string }, pattern: RegExp): void {
  const lines = r.stderr.split('\n').filter((l) => l.includes('rolled back'));
  expect({ code: r.code, lines }).toEqual({
    code: 0,
    lines: [expect.stringMatching(/^sinki: warning: the store was rolled back or tampered with: .*going on \(--allow-rollback\)$/)],
  });
  expect(lines[0]).toMatch(pattern);
}

const listDir = async (dir: string): Promise<string[]> => (await fs.readdir(dir)).filter((n) => !n.startsWith('.')).sort();

async function copyDir(from: string, to: string): Promise<void> {
  await fs.cp(from, to, { recursive: true });
}

describe('rollback of a store that others can write', () => {
  let work: string;
  const savedCache = process.env.XDG_CACHE_HOME;

  beforeAll(async () => {
    work = await tempDir('sec-rollback');
    // The memory of generations seen lives under the cache folder: this machine's, for these tests.
    process.env.XDG_CACHE_HOME = join(work, 'cache');
  });

  afterAll(async () => {
    await cleanup();
    if (savedCache === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = savedCache;
    await removeTempDirs();
  });

  async function storeWithSource(label: string): Promise<{ store: string; src: string }> {
    const store = join(work, label);
    const src = join(work, `${label}-src`);
    await fs.mkdir(src);
    await initStore(store);
    return { store, src };
  }

  it('refs/head put back from before the last mount commit: exit 13 naming refs/head; --allow-rollback warns and goes on', async () => {
    const { store } = await storeWithSource('head');
    const mnt = join(work, 'head-mnt');
    // The snapshot at unmount keeps the first state's trees: the mount frees what nothing holds.
    let m = await mount({ path: store, work }, mnt);
    await fs.writeFile(join(mnt, 'first.txt'), 'first\n');
    await umount(m);
    const oldHead = await fs.readFile(join(store, 'refs', 'head'));
    m = await mount({ path: store, work }, mnt, ['--no-snapshot-on-unmount']);
    await fs.writeFile(join(mnt, 'second.txt'), 'second\n');
    await umount(m);
    expect((await sinkiOk(['snapshots'], { store })).code).toBe(0);

    await fs.writeFile(join(store, 'refs', 'head'), oldHead);
    expectOneErrorLine(
      await sinki(['snapshots'], { store }),
      13,
      /rolled back .*refs\/head is older \(sequence 1\) than generation \d+ says \(2\); give --allow-rollback/,
    );
    // Nothing on this machine is needed for this one: a fresh cache (another machine) sees it too.
    expectOneErrorLine(await sinki(['snapshots'], { store, env: { XDG_CACHE_HOME: join(work, 'elsewhere') } }), 13, /refs\/head is older/);
    expectWarnedAndWent(await sinki(['--allow-rollback', 'snapshots'], { store }), /refs\/head is older/);
    // A mount told to go on serves the old tree; its next commit seals the store as it is.
    m = await mount({ path: store, work }, mnt, ['--no-snapshot-on-unmount', '--allow-rollback']);
    expect(await listDir(mnt)).toEqual(['first.txt']);
    await fs.writeFile(join(mnt, 'third.txt'), 'third\n');
    await umount(m);
    expect((await sinkiOk(['snapshots'], { store })).stderr).not.toMatch(/rolled back/);
  });

  it('a forgotten snapshot put back: exit 13 naming it; --allow-rollback warns and goes on', async () => {
    const { store, src } = await storeWithSource('forget');
    await fs.writeFile(join(src, 'a.txt'), 'one\n');
    await sinkiOk(['backup', src], { store });
    await fs.writeFile(join(src, 'a.txt'), 'two\n');
    await sinkiOk(['backup', src], { store });
    const before = await listDir(join(store, 'snapshots'));
    const kept = join(work, 'forget-kept');
    await copyDir(join(store, 'snapshots'), kept);
    await sinkiOk(['forget', '--keep-last', '1'], { store });
    const after = await listDir(join(store, 'snapshots'));
    const forgotten = before.filter((id) => !after.includes(id));
    expect(forgotten).toHaveLength(1);
    expect((await sinkiOk(['snapshots'], { store })).code).toBe(0);

    await fs.copyFile(join(kept, forgotten[0]!), join(store, 'snapshots', forgotten[0]!));
    expectOneErrorLine(await sinki(['snapshots'], { store }), 13, new RegExp(`snapshot ${forgotten[0]!.slice(0, 12)} was removed .* and is back`));
    expectOneErrorLine(await sinki(['restore', 'latest', join(work, 'forget-out')], { store }), 13, ROLLED_BACK);
    const allowed = await sinki(['--allow-rollback', 'snapshots', '--json'], { store });
    expectWarnedAndWent(allowed, /was removed .* and is back/);
    expect(JSON.parse(allowed.stdout)).toHaveLength(2);
  });

  it('a pruned index segment put back: exit 13 naming the pack it points at; a backup that would dedup against that pack saves nothing', async () => {
    const { store, src } = await storeWithSource('prune');
    const data = randomBytes(300 * 1024);
    await fs.writeFile(join(src, 'a.bin'), data);
    await sinkiOk(['backup', src], { store });
    await fs.rm(join(src, 'a.bin'));
    await fs.writeFile(join(src, 'b.bin'), randomBytes(300 * 1024));
    await sinkiOk(['backup', src], { store });
    const oldIndex = join(work, 'prune-index');
    await copyDir(join(store, 'index'), oldIndex);
    await sinkiOk(['forget', '--keep-last', '1', '--prune'], { store });
    expect((await sinkiOk(['check'], { store })).code).toBe(0);

    const current = new Set(await listDir(join(store, 'index')));
    for (const name of await listDir(oldIndex)) if (!current.has(name)) await fs.copyFile(join(oldIndex, name), join(store, 'index', name));
    expectOneErrorLine(
      await sinki(['snapshots'], { store }),
      13,
      /index segment [0-9a-f]{12} names pack [0-9a-f]{12}, which is gone: a pruned segment is back/,
    );

    // Told to go on anyway, a backup of the pruned data finds its blobs in that segment: it must
    // not write a snapshot that points at the deleted pack.
    await fs.writeFile(join(src, 'a.bin'), data);
    const snapshotsBefore = await listDir(join(store, 'snapshots'));
    const r = await sinki(['--allow-rollback', 'backup', src], { store });
    expect(r.code).toBe(13);
    expect(r.stderr.split('\n').filter(Boolean).at(-1)).toMatch(
      /^sinki: pack [0-9a-f]{64} is missing, but the index names it for data this backup reuses; nothing was saved/,
    );
    expect(await listDir(join(store, 'snapshots'))).toEqual(snapshotsBefore);
  });

  it('a pack deleted under an index that names it: a backup reusing its data exits 13 and writes no snapshot', async () => {
    const { store, src } = await storeWithSource('gone-pack');
    await fs.writeFile(join(src, 'a.bin'), randomBytes(200 * 1024));
    await sinkiOk(['backup', src], { store });
    const packDirs = await listDir(join(store, 'packs'));
    for (const d of packDirs) for (const p of await listDir(join(store, 'packs', d))) await fs.rm(join(store, 'packs', d, p));
    const snapshotsBefore = await listDir(join(store, 'snapshots'));
    expectOneErrorLine(await sinki(['backup', '--force', src], { store }), 13, /^sinki: pack [0-9a-f]{64} is missing, but the index names it/);
    expect(await listDir(join(store, 'snapshots'))).toEqual(snapshotsBefore);
  });

  it('a whole old copy of the store put back: exit 13 on this machine (its memory of the newest generation); a machine that never saw the newer state cannot tell', async () => {
    const { store, src } = await storeWithSource('whole');
    await fs.writeFile(join(src, 'a.txt'), 'one\n');
    await sinkiOk(['backup', src], { store });
    const old = join(work, 'whole-old');
    await copyDir(store, old);
    await fs.writeFile(join(src, 'a.txt'), 'two\n');
    await sinkiOk(['backup', src], { store });
    await fs.rm(store, { recursive: true });
    await fs.rename(old, store);
    expectOneErrorLine(await sinki(['snapshots'], { store }), 13, /its newest generation is \d+, but this machine has seen generation \d+ there/);
    expect((await sinki(['snapshots'], { store, env: { XDG_CACHE_HOME: join(work, 'never-saw-it') } })).code).toBe(0);
    // Generation files removed altogether are no way out either.
    await fs.rm(join(store, 'gen'), { recursive: true });
    expectOneErrorLine(await sinki(['snapshots'], { store }), 13, /its generation files are gone, but this machine has seen generation \d+ there/);
    expectWarnedAndWent(await sinki(['--allow-rollback', 'snapshots'], { store }), /generation files are gone/);
  });

  it('a pushed remote has generations of its own: what a push without --delete leaves is no alarm; a snapshot put back after push --delete is', async () => {
    const { store, src } = await storeWithSource('remote');
    const remoteDir = join(work, 'remote-copy');
    const remote = `rclone:${remoteDir}`;
    const cache = ['--cache-dir', join(work, 'remote-cache')];
    for (const text of ['one\n', 'two\n']) {
      await fs.writeFile(join(src, 'a.txt'), text);
      await sinkiOk(['backup', src], { store });
    }
    await sinkiOk(['push', remoteDir], { store });
    const kept = join(work, 'remote-kept');
    await copyDir(join(remoteDir, 'snapshots'), kept);
    await sinkiOk(['forget', '--keep-last', '1', '--prune'], { store });
    await sinkiOk(['push', remoteDir], { store });
    const lenient = await sinkiOk([...cache, 'snapshots', '--json'], { store: remote });
    expect({ snapshots: JSON.parse(lenient.stdout).length, stderr: lenient.stderr }).toEqual({ snapshots: 2, stderr: '' });
    await sinkiOk(['push', remoteDir, '--delete'], { store });
    expect(JSON.parse((await sinkiOk([...cache, 'snapshots', '--json'], { store: remote })).stdout)).toHaveLength(1);
    expect(await listDir(join(remoteDir, 'gen'))).toHaveLength(1);

    for (const id of await listDir(kept)) await fs.copyFile(join(kept, id), join(remoteDir, 'snapshots', id)).catch(() => undefined);
    expectOneErrorLine(await sinki([...cache, 'snapshots'], { store: remote }), 13, /snapshot [0-9a-f]{12} was removed .* and is back/);
  });

  it('4 backups at once into one store, twice over, then commands: no false alarm, every snapshot there', async () => {
    const { store } = await storeWithSource('concurrent');
    const sources: string[] = [];
    for (let i = 0; i < 4; i++) {
      const dir = join(work, `concurrent-src-${i}`);
      await fs.mkdir(dir);
      await fs.writeFile(join(dir, 'f.bin'), randomBytes(64 * 1024));
      await fs.writeFile(join(dir, 'shared.txt'), 'the same in every source\n');
      sources.push(dir);
    }
    for (let round = 0; round < 2; round++) {
      // Readers beside them, and each backup opens while the others may be halfway.
      const readers = [sinki(['snapshots'], { store }), sinki(['ls', 'latest'], { store })];
      const results = await Promise.all(sources.map((dir) => sinki(['backup', dir], { store })));
      for (const r of await Promise.all(readers)) expect(r.stderr).not.toMatch(/rolled back/);
      expect(results.map((r) => ({ code: r.code, stderr: r.stderr.split('\n').filter((l) => l && !l.includes('--insecure-kdf')) }))).toEqual(
        sources.map(() => ({ code: 0, stderr: [] })),
      );
    }
    const snaps = await sinkiOk(['snapshots', '--json'], { store });
    expect(JSON.parse(snaps.stdout)).toHaveLength(8);
    expect(snaps.stderr).not.toMatch(/rolled back/);
    expect((await sinkiOk(['check'], { store })).stderr).not.toMatch(/rolled back/);
    // A forget (one snapshot kept per source) after the race leaves one generation, and no alarm.
    await sinkiOk(['forget', '--keep-last', '1'], { store });
    expect(JSON.parse((await sinkiOk(['snapshots', '--json'], { store })).stdout)).toHaveLength(4);
    expect(await listDir(join(store, 'gen'))).toHaveLength(1);
  });
});
