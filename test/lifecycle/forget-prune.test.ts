import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, expectOneErrorLine, initStore, jsonLine, PASSWORD, run, sinki, sinkiOk } from '../helpers/cli.js';
import { pseudoRandomBytes, walk } from '../helpers/files.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';
import {
  diffManifests,
  hasFuse,
  isAlive,
  manifestOf,
  MiB,
  mountStore,
  packIds,
  restoreAndCompare,
  snapshotList,
  storeBytes,
  unmountAll,
  unmountStore,
  waitFor,
  type Manifest,
} from './helpers.js';

/** A store plus the manifest of every snapshot it was given. */
interface Fixture {
  work: string;
  store: string;
  manifests: Map<string, Manifest>;
}

async function fixture(label: string, initArgs: string[] = ['--pack-size', '1M']): Promise<Fixture> {
  const work = await tempDir(`lifecycle-${label}`);
  const store = join(work, 'store');
  await initStore(store, initArgs);
  return { work, store, manifests: new Map() };
}

/** `sinki backup` of a folder; records the new snapshot's manifest; returns its id. */
async function backup(f: Fixture, src: string, extra: string[] = []): Promise<string> {
  const manifest = manifestOf(src, src.split('/').at(-1));
  const r = await sinkiOk(['backup', src, '--json', ...extra], { store: f.store });
  const id = jsonLine<{ snapshot_id: string }>(r.stdout, 'summary').snapshot_id;
  f.manifests.set(id, manifest);
  return id;
}

async function writeFiles(dir: string, files: Record<string, Buffer | string>): Promise<void> {
  for (const [name, data] of Object.entries(files)) {
    await fs.mkdir(join(dir, name, '..'), { recursive: true });
    await fs.writeFile(join(dir, name), data);
  }
}

/** Every snapshot left in the store restores exactly as it was backed up. */
async function expectAllRestore(f: Fixture): Promise<void> {
  const problems: string[] = [];
  let k = 0;
  for (const s of await snapshotList(f.store)) {
    const manifest = f.manifests.get(s.id);
    if (!manifest) {
      problems.push(`unknown snapshot ${s.id}`);
      continue;
    }
    const { result, problems: p } = await restoreAndCompare(f.store, s.id, manifest, join(f.work, `restore-${Date.now()}-${k++}`), { allowMissing: false });
    if (result.code !== 0) problems.push(`restore ${s.id.slice(0, 12)} exited ${result.code}: ${result.stderr}`);
    problems.push(...p);
  }
  expect(problems).toEqual([]);
}

async function expectCheckClean(store: string, args: string[] = ['--read-data']): Promise<void> {
  const r = await sinki(['check', ...args], { store });
  expect({ code: r.code, errors: r.stderr.split('\n').filter((l) => l && !l.startsWith('note: ')) }).toEqual({ code: 0, errors: [] });
}

/** sha256 of every file under the store except locks: "nothing changed" means this is equal. */
async function storeState(store: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await walk(store)) {
    if (!e.stat.isFile() || e.rel.startsWith('locks/')) continue;
    out[e.rel] = createHash('sha256')
      .update(await fs.readFile(e.abs))
      .digest('hex');
  }
  return out;
}

afterAll(async () => {
  await unmountAll();
  await removeTempDirs();
});

describe('forget', () => {
  it('--dry-run changes nothing (with --prune too), yet says what it would remove', async () => {
    const f = await fixture('dry-run');
    const src = join(f.work, 'src');
    for (let i = 0; i < 3; i++) {
      await writeFiles(src, { [`f${i}.txt`]: `version ${i}\n`.repeat(1000) });
      await backup(f, src);
    }
    const before = await storeState(f.store);
    const r = await sinkiOk(['forget', '--keep-last', '1', '--dry-run'], { store: f.store });
    expect(r.stdout).toMatch(/would remove 2 of 3 snapshots/);
    const p = await sinkiOk(['forget', '--keep-last', '1', '--dry-run', '--prune', '--max-unused', '0'], { store: f.store });
    expect(p.stdout).toMatch(/would delete \d+ unused packs/);
    expect(await storeState(f.store)).toEqual(before);
    expect(await snapshotList(f.store)).toHaveLength(3);
  });

  it('keep rules: --keep-last per host+paths group, --keep-tag, --keep-within; removed snapshots are gone, kept ones restore', async () => {
    const f = await fixture('keep-rules');
    const a = join(f.work, 'a');
    const b = join(f.work, 'b');
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      await writeFiles(a, { [`a${i}.txt`]: `a ${i}\n`.repeat(500) });
      ids.push(await backup(f, a, i === 0 ? ['--tag', 'precious'] : []));
    }
    await writeFiles(b, { 'b.txt': 'only one snapshot of b\n' });
    const onlyB = await backup(f, b);

    // --keep-within a long time keeps everything.
    expect((await sinkiOk(['forget', '--keep-within', '1d'], { store: f.store })).stdout).toMatch(/removed 0 of 5 snapshots/);
    // --keep-last 2 keeps the newest two of a, the only one of b, and the tagged first one of a.
    const r = await sinkiOk(['forget', '--keep-last', '2', '--keep-tag', 'precious', '--json'], { store: f.store });
    const decisions = jsonLine<{ snapshots: Array<{ id: string; keep: boolean; reasons: string[] }> }>(r.stdout, 'forget').snapshots;
    const reasons = Object.fromEntries(decisions.map((d) => [d.id, d.keep ? d.reasons.join('+') : 'remove']));
    expect(reasons).toEqual({ [ids[0]!]: 'tag', [ids[1]!]: 'remove', [ids[2]!]: 'last', [ids[3]!]: 'last', [onlyB]: 'last' });
    expect((await snapshotList(f.store)).map((s) => s.id).sort()).toEqual([ids[0]!, ids[2]!, ids[3]!, onlyB].sort());
    // An id-prefix of a removed snapshot now finds nothing (exit 14).
    expectOneErrorLine(await sinki(['ls', ids[1]!.slice(0, 12)], { store: f.store }), 14, /no snapshot matches/);
    await expectAllRestore(f);
    await expectCheckClean(f.store);
  });

  it('refuses an empty policy (exit 2) and removes nothing', async () => {
    const f = await fixture('empty-policy');
    const src = join(f.work, 'src');
    await writeFiles(src, { 'x.txt': 'x\n' });
    await backup(f, src);
    expectOneErrorLine(await sinki(['forget'], { store: f.store }), 2, /no policy given/);
    expect(await snapshotList(f.store)).toHaveLength(1);
  });

  it('--prune frees space (the store shrinks) and every remaining snapshot restores', async () => {
    const f = await fixture('forget-prune');
    const src = join(f.work, 'src');
    for (let i = 0; i < 3; i++) {
      await fs.rm(src, { recursive: true, force: true });
      await writeFiles(src, { [`big-${i}.zip`]: pseudoRandomBytes(`forget-prune-${i}`, MiB), 'same.txt': 'in every snapshot\n'.repeat(2000) });
      await backup(f, src);
    }
    const before = await storeBytes(f.store);
    const r = await sinkiOk(['forget', '--keep-last', '1', '--prune'], { store: f.store });
    expect(r.stdout).toMatch(/removed 2 of 3 snapshots/);
    const after = await storeBytes(f.store);
    expect(before - after).toBeGreaterThan(1.5 * MiB);
    expect(await snapshotList(f.store)).toHaveLength(1);
    await expectAllRestore(f);
    await expectCheckClean(f.store);
  });
});

describe('prune', () => {
  it('--max-unused 0 repacks packs that are partly unused; check --read-data is clean and every snapshot restores', async () => {
    const f = await fixture('repack');
    const src = join(f.work, 'src');
    // One backup puts both files in one pack; the next drops one of them.
    await writeFiles(src, { 'keep.zip': pseudoRandomBytes('repack-keep', 300_000), 'drop.zip': pseudoRandomBytes('repack-drop', 300_000) });
    const first = await backup(f, src);
    await fs.rm(join(src, 'drop.zip'));
    await backup(f, src);
    await sinkiOk(['forget', '--keep-last', '1'], { store: f.store });
    expect((await snapshotList(f.store)).map((s) => s.id)).not.toContain(first);
    const packsBefore = await packIds(f.store);

    const dry = jsonLine<{ repack_packs: number }>((await sinkiOk(['prune', '--max-unused', '0', '--dry-run', '--json'], { store: f.store })).stdout, 'prune');
    expect(dry.repack_packs).toBeGreaterThanOrEqual(1);
    const r = jsonLine<{ repack_packs: number; bytes_to_free: number }>(
      (await sinkiOk(['prune', '--max-unused', '0', '--json'], { store: f.store })).stdout,
      'prune',
    );
    expect(r.repack_packs).toBe(dry.repack_packs);
    expect(r.bytes_to_free).toBeGreaterThan(250_000);
    const packsAfter = await packIds(f.store);
    expect(packsAfter.filter((p) => !packsBefore.includes(p)).length).toBeGreaterThanOrEqual(1); // the new pack holding keep.zip
    await expectCheckClean(f.store);
    await expectAllRestore(f);
    // A second prune finds nothing to do.
    expect(
      jsonLine<{ repack_packs: number; delete_packs: number }>((await sinkiOk(['prune', '--max-unused', '0', '--json'], { store: f.store })).stdout, 'prune'),
    ).toMatchObject({ repack_packs: 0, delete_packs: 0 });
  });

  it('removes the unindexed packs an interrupted (kill -9) backup left', async () => {
    const f = await fixture('unindexed');
    const src = join(f.work, 'src');
    await writeFiles(src, { 'first.txt': 'committed\n'.repeat(100) });
    await backup(f, src);
    const packsBefore = (await packIds(f.store)).length;
    // A big incompressible file: packs reach the disk long before the index is written at the end.
    const handle = await fs.open(join(src, 'big.zip'), 'w');
    for (let i = 0; i < 12; i++) await handle.write(pseudoRandomBytes(`unindexed-${i}`, MiB));
    await handle.close();
    const child = spawn(process.execPath, [CLI, '-s', f.store, 'backup', src], { env: { ...process.env, SINKI_PASSWORD: PASSWORD }, stdio: 'ignore' });
    const exited = new Promise((r) => child.on('close', r));
    await waitFor('a pack of the interrupted backup', async () => (await packIds(f.store)).length >= packsBefore + 2, 60_000);
    child.kill('SIGKILL');
    await exited;
    expect(await snapshotList(f.store)).toHaveLength(1);
    const check = await sinki(['check'], { store: f.store });
    expect(check.code).toBe(0);
    expect(check.stderr).toMatch(/^note: pack [0-9a-f]{64}: not in the index/m);

    // The killed backup's lock is stale (dead pid): prune (exclusive) is not blocked by it.
    // The estimate counts them: at least the two packs of incompressible data seen on disk.
    const dry = jsonLine<{ unindexed_packs: number; bytes_to_free: number }>(
      (await sinkiOk(['prune', '--dry-run', '--json'], { store: f.store })).stdout,
      'prune',
    );
    expect(dry.bytes_to_free).toBeGreaterThanOrEqual(2 * MiB);
    const r = jsonLine<{ unindexed_packs: number }>((await sinkiOk(['prune', '--json'], { store: f.store })).stdout, 'prune');
    expect(r.unindexed_packs).toBeGreaterThanOrEqual(2);
    expect(await packIds(f.store)).toHaveLength(packsBefore);
    const after = await sinki(['check', '--read-data'], { store: f.store });
    expect({ code: after.code, stderr: after.stderr }).toEqual({ code: 0, stderr: '' });
    await expectAllRestore(f);
    expect((await sinkiOk(['unlock'], { store: f.store })).stdout).toBe('removed 1 lock\n');
  });
});

describe('locks of killed processes', () => {
  /** This process's start time as the lock records it (/proc/<pid>/stat, field 22). */
  const startedOf = async (pid: number): Promise<string> => {
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
  };

  it('a lock whose pid now belongs to another process (pid reuse) is stale: prune runs, and unlock removes it', async () => {
    const f = await fixture('pid-reuse');
    const src = join(f.work, 'src');
    await writeFiles(src, { 'x.txt': 'x\n' });
    await backup(f, src);
    const locks = join(f.store, 'locks');
    const lock = (started: string): string =>
      JSON.stringify({ host: hostname(), pid: process.pid, time: new Date().toISOString(), exclusive: false, purpose: 'mount', started });
    // The holder is this very process (alive, same start time): it blocks an exclusive command.
    await fs.writeFile(join(locks, 'live'), lock(await startedOf(process.pid)));
    expectOneErrorLine(await sinki(['prune'], { store: f.store }), 11, /locked by mount/);
    // A killed mount's lock whose pid was since given to this process: not the holder.
    await fs.writeFile(join(locks, 'live'), lock('1'));
    await sinkiOk(['prune'], { store: f.store });
    expect((await sinkiOk(['unlock'], { store: f.store })).stdout).toBe('removed 1 lock\n');
  });
});

describe('repair index and check subsets', () => {
  it('after the index is deleted, restore fails (13) until repair index rebuilds it from the packs', async () => {
    const f = await fixture('repair');
    const src = join(f.work, 'src');
    await writeFiles(src, { 'a.zip': pseudoRandomBytes('repair-a', 1.5 * MiB), 'b.txt': 'bee\n'.repeat(5000) });
    const id = await backup(f, src);
    await writeFiles(src, { 'c.txt': 'sea\n'.repeat(5000) });
    await backup(f, src);
    for (const seg of await fs.readdir(join(f.store, 'index'))) await fs.rm(join(f.store, 'index', seg));

    const broken = await sinki(['restore', id, join(f.work, 'broken')], { store: f.store });
    expect(broken.code).toBe(13);
    expect(broken.stderr).toMatch(/^sinki: .*not in the index/m);
    expect((await walk(join(f.work, 'broken')).catch(() => [])).filter((e) => e.stat.isFile())).toEqual([]);

    const r = await sinkiOk(['repair', 'index'], { store: f.store });
    expect(r.stdout).toMatch(/^index rebuilt: \d+ packs, \d+ blobs\n$/);
    await expectCheckClean(f.store);
    await expectAllRestore(f);
  });

  it('check --read-data-subset 1/2 and 2/2 together read every pack once', async () => {
    const f = await fixture('subset');
    const src = join(f.work, 'src');
    for (let i = 0; i < 4; i++) {
      await writeFiles(src, { [`part-${i}.zip`]: pseudoRandomBytes(`subset-${i}`, 700_000) });
      await backup(f, src);
    }
    const blobsRead = (out: string): number => Number(/, (\d+) blobs read\)/.exec(out)?.[1]);
    const all = blobsRead((await sinkiOk(['check', '--read-data'], { store: f.store })).stdout);
    const one = blobsRead((await sinkiOk(['check', '--read-data-subset', '1/2'], { store: f.store })).stdout);
    const two = blobsRead((await sinkiOk(['check', '--read-data-subset', '2/2'], { store: f.store })).stdout);
    expect(all).toBeGreaterThan(0);
    expect(one + two).toBe(all);
    // And a damaged pack is found by exactly one of the two halves.
    const [victim] = await packIds(f.store);
    const file = join(f.store, 'packs', victim!.slice(0, 2), victim!);
    const bytes = await fs.readFile(file);
    bytes[100] = bytes[100]! ^ 1;
    await fs.writeFile(file, bytes);
    const codes = [
      (await sinki(['check', '--read-data-subset', '1/2'], { store: f.store })).code,
      (await sinki(['check', '--read-data-subset', '2/2'], { store: f.store })).code,
    ];
    expect(codes.sort()).toEqual([0, 13]);
    expectOneErrorLine(await sinki(['check', '--read-data-subset', '3/2'], { store: f.store }), 2, /x\/y needs/);
  });
});

describe.skipIf(!hasFuse)('a mounted store', () => {
  it('refuses prune (exit 11) while mounted; a backup into it works, and both the snapshot and the mount data survive', async () => {
    const f = await fixture('mounted');
    const src = join(f.work, 'src');
    await writeFiles(src, { 'backed-up.txt': 'from sinki backup\n'.repeat(3000), 'bin.zip': pseudoRandomBytes('mounted-bin', 400_000) });
    const mnt = join(f.work, 'mnt');
    const pid = await mountStore(f.store, mnt);
    const live = pseudoRandomBytes('mounted-live', 700_000);
    await fs.writeFile(join(mnt, 'live.bin'), live);
    expect((await run('sync', [join(mnt, 'live.bin')])).code).toBe(0);

    expectOneErrorLine(await sinki(['prune'], { store: f.store }), 11, /locked by mount/);
    expectOneErrorLine(await sinki(['forget', '--keep-last', '1', '--prune'], { store: f.store }), 11, /locked by mount/);
    const id = await backup(f, src);
    // The mount keeps working after the backup: another file, committed by sync.
    await fs.writeFile(join(mnt, 'after-backup.txt'), 'written after the backup\n');
    expect((await run('sync', [join(mnt, 'after-backup.txt')])).code).toBe(0);

    expect((await unmountStore(mnt)).code).toBe(0);
    expect(isAlive(pid)).toBe(false);
    await expectCheckClean(f.store);
    const { result, problems } = await restoreAndCompare(f.store, id, f.manifests.get(id)!, join(f.work, 'restored-backup'), { allowMissing: false });
    expect({ code: result.code, problems }).toEqual({ code: 0, problems: [] });
    // The snapshot taken at unmount and the live tree after a remount both hold the mount's files.
    const mountSnap = (await snapshotList(f.store)).find((s) => s.paths[0] === 'sinki-mount:/')!;
    await sinkiOk(['restore', mountSnap.id, join(f.work, 'restored-mount')], { store: f.store });
    const expected = new Map([
      ['live.bin', `f ${createHash('sha256').update(live).digest('hex')}`],
      ['after-backup.txt', `f ${createHash('sha256').update('written after the backup\n').digest('hex')}`],
    ]);
    expect(diffManifests(expected, manifestOf(join(f.work, 'restored-mount')))).toEqual([]);
    await mountStore(f.store, mnt);
    expect(diffManifests(expected, manifestOf(mnt))).toEqual([]);
    expect((await unmountStore(mnt)).code).toBe(0);
    // With the mount gone, prune runs.
    await sinkiOk(['prune'], { store: f.store });
    await expectCheckClean(f.store);
  });
});
