#!/usr/bin/env node
// bench-browse — a real file manager (PCManFM under Xvfb) opening a folder of photos and a few large
// files on a sinki mount: the live tree, /.snapshots/<time>/ and a read-only mount of a remote copy
// (`rclone serve webdav` on 127.0.0.1).
//
//   npx tsc -p tsconfig.json
//   scripts/bench-browse [--photos 1000] [--photo-size 640x480] [--large 3] [--large-size 64M] [--screenshot docs/img/file-manager.png]
//
// Each place is browsed cold (a fresh mount, a fresh PCManFM profile: thumbnails are made) and then
// warm (a second PCManFM on the same mount and profile). From the mount's operation trace
// (`mount --trace-ops`) and its status: the time from PCManFM's launch until the folder is listed
// (readdir answered and every entry looked up), until the mount went quiet, the names PCManFM
// probed that do not exist and the slowest answer to them, bytes PCManFM read, and bytes read from
// the store (the local store, or for the remote mount bytes fetched from the remote).
// Targets: listed ≤ 1 s warm, ≤ 3 s on a cold remote mount; store bytes ÷ client bytes ≤ 2.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseOptions } from './lib/cli.mjs';
import { browse, makePhotos, startXvfb, summarise } from './lib/file-manager.mjs';
import { loadavg, mib } from './lib/report.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: o } = parseOptions(
  'bench-browse',
  process.argv.slice(2),
  {
    photos: { type: 'string', default: '1000' },
    'photo-size': { type: 'string', default: '640x480' },
    large: { type: 'string', default: '3' },
    'large-size': { type: 'string', default: '64M' },
    screenshot: { type: 'string' },
  },
  { help: import.meta.url },
);
const CLI = path.join(root, 'dist/cli/main.js');
const { controlDir, mountpointSocketPath, sendControl } = await import(path.join(root, 'dist/fuse/control.js'));
const size = (s) => Number(/^(\d+)([KMG]?)$/.exec(s)?.[1]) * { '': 1, K: 1024, M: 2 ** 20, G: 2 ** 30 }[/^(\d+)([KMG]?)$/.exec(s)?.[2] ?? ''];

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'sinki-bench-browse-'));
const env = {
  ...process.env,
  RCLONE_CONFIG: path.join(work, 'rclone.conf'),
  SINKI_PASSWORD: 'bench',
  XDG_CACHE_HOME: path.join(work, 'cache'),
  TMPDIR: path.join(work, 'tmp'),
};
fs.mkdirSync(env.TMPDIR);
const store = path.join(work, 'store');
const sinki = (...args) => execFileSync(process.execPath, [CLI, '-s', store, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const children = [];
const mounted = [];

async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (s.address());
      s.close(() => resolve(port));
    });
  });
}

async function status(mnt) {
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = env.TMPDIR;
  const dir = controlDir(process.env.XDG_RUNTIME_DIR);
  process.env.TMPDIR = saved;
  return (await sendControl(mountpointSocketPath(dir, mnt), { op: 'status' }, 5000)).result;
}

function mount(location, mnt, trace, extra = []) {
  fs.mkdirSync(mnt, { recursive: true });
  execFileSync(process.execPath, [CLI, '-s', location, 'mount', mnt, '--background', '--trace-ops', trace, ...extra], { env, stdio: 'ignore' });
  mounted.push(mnt);
}
function umount(mnt) {
  execFileSync(process.execPath, [CLI, 'umount', mnt], { env, stdio: 'ignore' });
  mounted.splice(mounted.indexOf(mnt), 1);
}

const rows = [];
async function measure(place, mnt, folder, trace, x, home, shot) {
  for (const pass of ['cold', 'warm']) {
    const before = await status(mnt);
    const run = await browse({
      display: x.display,
      mountpoint: mnt,
      folder,
      traceFile: trace,
      home,
      quietMs: 3000,
      timeoutMs: 300_000,
      screenshot: pass === 'cold' ? shot : undefined,
    });
    const after = await status(mnt);
    const s = summarise(run.ops);
    const client = after.reads.bytes - before.reads.bytes;
    const fetched = after.store.remote ? after.store.remote.bytes - before.store.remote.bytes : after.store.counts.bytesRead - before.store.counts.bytesRead;
    rows.push({
      place,
      pass,
      listedMs: run.listedMs,
      settledMs: run.settledMs,
      entries: run.entries,
      probes: s.probes.map((p) => path.basename(p)),
      slowestProbeMs: s.slowestProbeMs,
      client,
      fetched,
      requests: after.store.remote ? after.store.remote.requests - before.store.remote.requests : after.store.counts.get - before.store.counts.get,
    });
    console.error(
      `${place} ${pass}: listed in ${run.listedMs.toFixed(0)} ms, quiet after ${run.settledMs.toFixed(0)} ms; read ${mib(client)} MiB, fetched ${mib(fetched)} MiB`,
    );
  }
}

let x;
try {
  const served = path.join(work, 'served');
  fs.mkdirSync(served);
  const port = await freePort();
  const server = spawn('rclone', ['serve', 'webdav', served, '--addr', `127.0.0.1:${port}`], { env, stdio: 'ignore' });
  children.push(server);
  fs.writeFileSync(env.RCLONE_CONFIG, `[w]\ntype = webdav\nurl = http://127.0.0.1:${port}\nvendor = other\n`);

  const src = path.join(work, 'src');
  const photos = path.join(src, 'photos');
  console.error(`making ${o.photos} photos of ${o['photo-size']} and ${o.large} files of ${o['large-size']}`);
  await makePhotos(photos, Number(o.photos), path.join(work, 'base.jpg'), o['photo-size']);
  const exts = ['mp4', 'iso', 'tar', 'mkv', 'zip'];
  for (let i = 0; i < Number(o.large); i++) {
    const fd = fs.openSync(path.join(photos, `large-${i}.${exts[i % exts.length]}`), 'w');
    for (let left = size(o['large-size']); left > 0; left -= 2 ** 20) fs.writeSync(fd, randomBytes(Math.min(left, 2 ** 20)));
    fs.closeSync(fd);
  }
  sinki('init', '--kdf', 'pbkdf2', '--kdf-iterations', '1000', '--insecure-kdf');
  sinki('backup', src);
  sinki('push', 'w:store');
  x = await startXvfb();

  const live = path.join(work, 'live');
  const trace = path.join(work, 'trace');
  mount(store, live, trace, ['--no-deferred-compression']);
  fs.cpSync(photos, path.join(live, 'photos'), { recursive: true, preserveTimestamps: true });
  umount(live);
  mount(store, live, trace);
  await measure('live tree', live, path.join(live, 'photos'), trace, x, path.join(work, 'home-live'), o.screenshot);
  const time = fs.readdirSync(path.join(live, '.snapshots'))[0];
  umount(live);
  mount(store, live, trace);
  await measure('/.snapshots/<time>', live, path.join(live, '.snapshots', time, 'src', 'photos'), trace, x, path.join(work, 'home-snap'));
  umount(live);
  const remote = path.join(work, 'remote');
  mount('rclone:w:store', remote, trace);
  await measure('remote mount (WebDAV)', remote, path.join(remote, '.snapshots', time, 'src', 'photos'), trace, x, path.join(work, 'home-remote'));
  umount(remote);

  const load = loadavg();
  const lines = [
    `PCManFM ${execFileSync('dpkg-query', ['-W', 'pcmanfm']).toString().trim().split('\t')[1]} under Xvfb, ${o.photos} JPEG photos of ${o['photo-size']} (${mib(Number(execFileSync('du', ['-sb', photos]).toString().split('\t')[0]))} MiB with ${o.large} files of ${o['large-size']}), ${new Date().toISOString().slice(0, 10)}, load average ${load}:`,
    '',
    '| where | pass | listed (ms) | quiet after (ms) | probes answered ENOENT (slowest ms) | read by PCManFM (MiB) | read from store/remote (MiB) | ratio | requests |',
    '| --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.place} | ${r.pass} | ${r.listedMs.toFixed(0)} | ${r.settledMs.toFixed(0)} | ${r.probes.join(', ') || '—'} (${r.slowestProbeMs.toFixed(2)}) | ${mib(r.client)} | ${mib(r.fetched)} | ${r.client ? (r.fetched / r.client).toFixed(2) : '—'} | ${r.requests} |`,
    ),
  ];
  console.log(lines.join('\n'));
} finally {
  for (const mnt of mounted) spawnSync('fusermount', ['-uz', mnt]);
  await x?.stop();
  for (const c of children) c.kill();
  fs.rmSync(work, { recursive: true, force: true, maxRetries: 3 });
}
