/*
 * A real file manager (PCManFM under Xvfb) browses a folder of 1,000 photos and a few large files on
 * the live mount, on /.snapshots/<time>/ and on a read-only mount of a remote copy (rclone serve
 * webdav on loopback). What it relies on: every entry listed (a getattr of each, a readdir with
 * types), the names it probes for (.hidden, .Trash, autorun.inf…) answered without a store read,
 * and no more than twice the bytes it read fetched from the store or the remote.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browse, makePhotos, startXvfb, summarise } from '../../scripts/lib/file-manager.mjs';
import { controlDir, mountpointSocketPath, sendControl } from '../../src/fuse/control.js';
import { MiB, randomData, RemoteLab, type Served } from './harness.js';

interface Counts {
  get: number;
  list: number;
  stat: number;
  bytesRead: number;
}
interface Status {
  reads: { calls: number; bytes: number };
  store: { counts: Counts; remote: { requests: number; bytes: number } | null };
}
interface Browse {
  listedMs: number;
  entries: number;
  ops: Array<{ start: number; duration: number; op: string; code: number; path: string }>;
}

const PHOTOS = 1000;
const LARGE = ['clip.mp4', 'disk.iso', 'archive.tar'];
const PROBES = ['.hidden', '.directory', '.Trash', '.Trash-0', 'autorun.inf', '.xdg-volume-info'];

let lab: RemoteLab;
let _webdav: Served;
let xvfb: { display: string; stop(): Promise<void> };
let store: string;

/** The mount's own status over its control socket (the lab's sinki runs with TMPDIR = lab.tmp). */
async function status(mnt: string): Promise<Status> {
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = lab.tmp;
  const dir = controlDir(process.env.XDG_RUNTIME_DIR);
  if (saved === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = saved;
  const reply = await sendControl(mountpointSocketPath(dir, mnt), { op: 'status' }, 5000);
  if (!reply?.ok) throw new Error(`no status from the mount at ${mnt}`);
  return reply.result as Status;
}

/** Browses `folder` in a fresh PCManFM; store bytes (or remote bytes) read meanwhile, and client bytes. */
async function browseMeasured(
  mnt: string,
  folder: string,
  trace: string,
  name: string,
): Promise<{ run: Browse; client: number; fetched: number; shot: string }> {
  const before = await status(mnt);
  const shot = join(lab.root, `${name}.png`);
  const run = (await browse({
    display: xvfb.display,
    mountpoint: mnt,
    folder,
    traceFile: trace,
    home: join(lab.root, `home-${name}`),
    screenshot: shot,
  })) as Browse;
  const after = await status(mnt);
  const remote = after.store.remote && before.store.remote ? after.store.remote.bytes - before.store.remote.bytes : null;
  return { run, client: after.reads.bytes - before.reads.bytes, fetched: remote ?? after.store.counts.bytesRead - before.store.counts.bytesRead, shot };
}

function uniqueColours(png: string): number {
  return Number(execFileSync('identify', ['-format', '%k', png]).toString());
}

beforeAll(async () => {
  lab = await RemoteLab.create('file-manager');
  _webdav = await lab.webdav('w');
  const src = await lab.dir('src');
  const photos = join(src, 'photos');
  await makePhotos(photos, PHOTOS, join(lab.root, 'base.jpg'), '320x240');
  for (const [i, name] of LARGE.entries()) await fs.writeFile(join(photos, name), randomData(`large-${i}`, 8 * MiB));
  store = await lab.store('store');
  await lab.sinkiOk(['backup', src], { store });
  await lab.sinkiOk(['push', 'w:store'], { store });
  xvfb = await startXvfb();
}, 300_000);

afterAll(async () => {
  await xvfb?.stop();
  await lab?.close();
});

describe('PCManFM on a sinki mount', () => {
  it('lists 1,000 photos in the live tree, answers its probes from memory, and reads little more than it shows', async () => {
    const mnt = join(lab.root, 'live');
    const trace = join(lab.root, 'live.trace');
    // Copied in compressed at once: no backlog for the next mount to compress (its reads would count).
    await lab.mount(store, mnt, { flags: ['--no-deferred-compression'] });
    await fs.cp(join(lab.root, 'src', 'photos'), join(mnt, 'photos'), { recursive: true, preserveTimestamps: true });
    await lab.umount(mnt);
    // Cold: a new mount, nothing of the folder loaded or cached.
    await lab.mount(store, mnt, { flags: ['--trace-ops', trace] });

    // The probes of names that do not exist cost no store request, at the root and in the folder
    // (the folder is loaded first: listing it is what a file manager does before it probes).
    await fs.readdir(join(mnt, 'photos'));
    const quiet = await status(mnt);
    for (const dir of ['', 'photos']) for (const probe of PROBES) await expect(fs.lstat(join(mnt, dir, probe))).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await status(mnt)).store.counts).toEqual(quiet.store.counts);
    await lab.umount(mnt);
    await lab.mount(store, mnt, { flags: ['--trace-ops', trace] });

    const { run, client, fetched, shot } = await browseMeasured(mnt, join(mnt, 'photos'), trace, 'live');
    const summary = summarise(run.ops);
    expect(run.entries).toBe(PHOTOS + LARGE.length);
    expect(summary.counts.readdir).toBeGreaterThan(0);
    // Thumbnails: PCManFM reads every photo whole.
    expect(client).toBeGreaterThan(PHOTOS * 4000);
    expect(fetched).toBeGreaterThan(0);
    expect(fetched / client).toBeLessThanOrEqual(2);
    expect(uniqueColours(shot)).toBeGreaterThan(50);
    await lab.umount(mnt);
  });

  it('lists a snapshot of them under /.snapshots, reading little more than it shows', async () => {
    const mnt = join(lab.root, 'snap');
    const trace = join(lab.root, 'snap.trace');
    await lab.mount(store, mnt, { flags: ['--trace-ops', trace] });
    const [time] = await fs.readdir(join(mnt, '.snapshots'));
    const folder = join(mnt, '.snapshots', time!, 'src', 'photos');
    const { run, client, fetched } = await browseMeasured(mnt, folder, trace, 'snapshot');
    expect(run.entries).toBe(PHOTOS + LARGE.length);
    expect(client).toBeGreaterThan(PHOTOS * 4000);
    expect(fetched / client).toBeLessThanOrEqual(2);
    await lab.umount(mnt);
  });

  it('lists them on a read-only mount of the remote copy, fetching at most twice what it reads', async () => {
    const mnt = join(lab.root, 'remote');
    const trace = join(lab.root, 'remote.trace');
    await lab.mount('rclone:w:store', mnt, { flags: ['--trace-ops', trace] });
    const [time] = await fs.readdir(join(mnt, '.snapshots'));
    const folder = join(mnt, '.snapshots', time!, 'src', 'photos');
    const { run, client, fetched, shot } = await browseMeasured(mnt, folder, trace, 'remote');
    expect(run.entries).toBe(PHOTOS + LARGE.length);
    expect(client).toBeGreaterThan(PHOTOS * 4000);
    expect(fetched).toBeGreaterThan(0);
    expect(fetched / client).toBeLessThanOrEqual(2);
    expect(uniqueColours(shot)).toBeGreaterThan(50);
    // /.versions works on a remote mount too: the one version of a photo reads as the photo.
    const versionsOf = join(mnt, '.versions', 'src', 'photos', 'IMG_0007.jpg');
    const [only] = await fs.readdir(versionsOf);
    expect(await fs.readFile(join(versionsOf, only!))).toEqual(await fs.readFile(join(lab.root, 'src', 'photos', 'IMG_0007.jpg')));
    await lab.umount(mnt);
  });
});
