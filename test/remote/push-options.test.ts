/*
 * push --dry-run, --delete and --verify, and what push leaves out (temp files) or must not skip
 * (refs rewritten at the same size on a remote that keeps no modification times).
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filesBelow, jsonLine, KiB, randomData, RemoteLab, sha256, type PushSummary, type Served } from './harness.js';

let lab: RemoteLab;
let webdav: Served;

beforeAll(async () => {
  lab = await RemoteLab.create('options');
  webdav = await lab.webdav('w');
});

afterAll(async () => {
  await lab?.close();
});

/** A store with one backup of `files` incompressible files. */
async function storeWithBackup(name: string, files = 2, size = 300 * KiB): Promise<{ store: string; src: string }> {
  const store = await lab.store(name);
  const src = await lab.dir(`${name}-src`);
  for (let i = 0; i < files; i++) await fs.writeFile(join(src, `f${i}.jpg`), randomData(`${name}-${i}`, size));
  await lab.sinkiOk(['backup', src], { store });
  return { store, src };
}

const summaryOf = (stdout: string): PushSummary => jsonLine<PushSummary>(stdout, 'summary');

describe.concurrent('push', () => {
  it('--dry-run sends nothing, to a new remote or to one that is behind, and says what it would send; a push with no changes sends no pack, index or snapshot', async () => {
    const { store, src } = await storeWithBackup('dry');
    const first = summaryOf((await lab.sinkiOk(['push', 'w:dry', '--dry-run', '--json'], { store })).stdout);
    expect(first).toMatchObject({ dry_run: true, files: expect.any(Number), bytes: expect.any(Number) });
    expect(first.bytes).toBeGreaterThan(600 * KiB);
    expect(await filesBelow(join(webdav.dir, 'dry'))).toEqual([]);

    await lab.sinkiOk(['push', 'w:dry'], { store });
    const noop = summaryOf((await lab.sinkiOk(['push', 'w:dry', '--json'], { store })).stdout);
    // refs and SHA256SUMS are re-sent, and the remote gets a new generation, on every push.
    expect(noop.phases.filter((p) => p.name !== 'refs' && p.name !== 'gen').map((p) => p.transfers)).toEqual([0, 0, 0]);
    expect(noop.bytes).toBeLessThan(4 * KiB); // SHA256SUMS, always re-sent

    const before = await filesBelow(join(webdav.dir, 'dry'));
    await fs.writeFile(join(src, 'new.jpg'), randomData('dry-new', 200 * KiB));
    await lab.sinkiOk(['backup', src], { store });
    const second = summaryOf((await lab.sinkiOk(['push', 'w:dry', '--dry-run', '--json'], { store })).stdout);
    expect(second.phases.find((p) => p.name === 'packs')).toMatchObject({ transfers: 1 });
    expect(second.phases.find((p) => p.name === 'snapshots')).toMatchObject({ transfers: 1 });
    expect(await filesBelow(join(webdav.dir, 'dry'))).toEqual(before);
  });

  it('--delete removes what the store no longer has (and staging left by interrupted pushes), only once the new state is up', async () => {
    const { store, src } = await storeWithBackup('del');
    // An unreferenced pack (as an interrupted backup leaves one) and the first snapshot.
    const junk = randomData('junk-pack', 50 * KiB);
    const junkPath = `packs/${sha256(junk).slice(0, 2)}/${sha256(junk)}`;
    await fs.mkdir(join(store, junkPath, '..'), { recursive: true });
    await fs.writeFile(join(store, junkPath), junk);
    const remoteDir = join(lab.root, 'local', 'del');
    await lab.sinkiOk(['push', `l:${remoteDir}`], { store });
    const [oldSnapshot] = await fs.readdir(join(store, 'snapshots'));
    expect(await filesBelow(remoteDir)).toContain(junkPath);

    await fs.rm(join(store, junkPath));
    await fs.writeFile(join(src, 'more.jpg'), randomData('del-more', 300 * KiB));
    await lab.sinkiOk(['backup', src], { store });
    // Forgotten, not deleted by hand: the store's generation names every snapshot it holds.
    await lab.sinkiOk(['forget', '--keep-last', '1'], { store });
    const [newSnapshot] = await fs.readdir(join(store, 'snapshots'));
    // What an interrupted push leaves on the remote: a staging folder (cleared by --delete).
    await fs.mkdir(join(remoteDir, '.tmp-push-interrupted', 'index'), { recursive: true });
    await fs.writeFile(join(remoteDir, '.tmp-push-interrupted', 'index', 'half-sent'), 'x');

    // Watch the remote: the old snapshot may go only once the new one (and its packs) are there.
    const seen: string[] = [];
    let done = false;
    const push = lab.sinki(['push', `l:${remoteDir}`, '--delete', '--bwlimit', '1M', '--json'], { store }).finally(() => (done = true));
    while (!done) {
      const snaps = await fs.readdir(join(remoteDir, 'snapshots')).catch((): string[] => []);
      if (!snaps.includes(oldSnapshot!) && !snaps.includes(newSnapshot!)) seen.push('no snapshot at all');
      await new Promise((r) => setTimeout(r, 5));
    }
    const r = await push;
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(seen).toEqual([]);

    const remote = await filesBelow(remoteDir);
    expect(remote).not.toContain(junkPath);
    expect(remote).not.toContain(`snapshots/${oldSnapshot}`);
    expect(remote).toContain(`snapshots/${newSnapshot}`);
    expect(remote.filter((f) => f.includes('.tmp-'))).toEqual([]);
    expect((await fs.readdir(remoteDir)).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
    // Generations aside: the remote has one of its own, sealed by the push.
    const local = (await filesBelow(store)).filter((f) => !f.startsWith('locks/') && !f.startsWith('gen/'));
    expect(remote.filter((f) => !f.startsWith('gen/'))).toEqual(local);
    expect(remote.filter((f) => f.startsWith('gen/'))).toHaveLength(1);
    const check = await lab.sinki(['--cache-dir', join(lab.root, 'cache-del'), 'check'], { store: `rclone:l:${remoteDir}` });
    expect({ code: check.code, stderr: check.stderr }).toEqual({ code: 0, stderr: '' });
  });

  it('--verify names a remote pack with a flipped byte and exits 13', async () => {
    const { store } = await storeWithBackup('verify', 3, 200 * KiB);
    const ok = summaryOf((await lab.sinkiOk(['push', 'w:verify', '--verify', '--json'], { store })).stdout);
    expect(ok.verified).toEqual({ objects: expect.any(Number), bad: [] });
    expect(ok.verified!.objects).toBeGreaterThanOrEqual(3);

    const packs = (await filesBelow(join(webdav.dir, 'verify'))).filter((f) => f.startsWith('packs/'));
    const victim = join(webdav.dir, 'verify', packs[0]!);
    const bytes = await fs.readFile(victim);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    await fs.writeFile(victim, bytes); // same size: a WebDAV remote without modtimes keeps it
    const r = await lab.sinki(['push', 'w:verify', '--verify', '--json'], { store });
    expect(r.code).toBe(13);
    expect(summaryOf(r.stdout).verified).toEqual({ objects: ok.verified!.objects, bad: [packs[0]] });
    expect(r.stderr).toBe(`sinki: remote ${packs[0]} does not match its name (damaged in transit or on the remote)\n`);
  });

  it('leaves temp files at home and re-sends refs rewritten at the same size (WebDAV keeps no modtimes)', async () => {
    const { store } = await storeWithBackup('refs', 1, 100 * KiB);
    const [packDir] = await fs.readdir(join(store, 'packs'));
    await fs.writeFile(join(store, 'packs', packDir!, '.tmp-half-written'), randomData('tmp', 10 * KiB));
    await fs.mkdir(join(store, 'refs'), { recursive: true });
    await fs.writeFile(join(store, 'refs', 'head'), randomData('head-1', 120));
    await lab.sinkiOk(['push', 'w:refs'], { store });
    expect(await fs.readFile(join(webdav.dir, 'refs', 'refs', 'head'))).toEqual(randomData('head-1', 120));

    await fs.writeFile(join(store, 'refs', 'head'), randomData('head-2', 120));
    await lab.sinkiOk(['push', 'w:refs'], { store });
    expect(await fs.readFile(join(webdav.dir, 'refs', 'refs', 'head'))).toEqual(randomData('head-2', 120));
    expect((await filesBelow(join(webdav.dir, 'refs'))).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});
