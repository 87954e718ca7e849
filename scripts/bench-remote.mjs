#!/usr/bin/env node
// bench-remote — `sinki push` and reads of a remote store against bare rclone, on loopback remotes.
//
//   npx tsc -p tsconfig.json
//   scripts/bench-remote [--size 1G] [--quick] [--seed 42] [--rounds 2] [--push-only] [--keep]
//                        [--out docs/BENCHMARKS.md | --out -] [--workdir DIR] [--cli dist/cli/main.js]
//
//   --size S     dataset size for scripts/gen-dataset.mjs (default 1G; --quick = 100M); a 100 MiB
//                file (bench/large-100M.mp4, incompressible) is added to it
//   --seed N     dataset seed (default 42)
//   --rounds N   push/copy rounds per remote, the order alternating each round (default 2)
//   --push-only  measure push vs copy only (no reads, no --bwlimit run); prints, writes no file
//                unless --out is given
//   --keep       keep the work folder and print its path
//   --out FILE   markdown file whose "Remote (scripts/bench-remote)" section is written or replaced
//                (default docs/BENCHMARKS.md; "-" = print only)
//   --workdir D  where the work folder is made (default: the OS temp dir)
//   --cli PATH   the sinki CLI to measure (default dist/cli/main.js)
//
// Remotes: `rclone serve webdav` of a folder in the work dir on 127.0.0.1 (remote "w:", vendor
// other), and a local-path remote ("l:") for comparison. One run measures:
//   1. sinki push STORE w:push-N   vs   rclone copy STORE w:copy-N   (fresh paths, --rounds
//      rounds alternating; same for l:). Throughput = store bytes / wall time. Target: push ≥ 0.9×
//      copy, for the best of each and for the median of the rounds' side-by-side ratios.
//   2. the 100 MiB file read from the pushed remote snapshot: through a mount
//      (`cat MNT/.snapshots/*/…/large-100M.mp4 > /dev/null`, the mount already up) vs
//      `sinki restore latest T --include …` (the whole command). Each starts with an empty
//      --cache-dir. Bytes fetched = what the WebDAV server wrote to its sockets meanwhile
//      (/proc/PID/io wchar), compared with the file's packed size (sum of its sealed chunk
//      lengths, read from the store's index). Targets: mount ≥ 0.8× restore speed; fetched ≤ 1.1×.
//   3. sinki push --bwlimit 5M of a ~50 MiB store: the rate the WebDAV server received (its rchar,
//      sampled every 100 ms, over the 10%–90% stretch of the upload) and bytes / wall time of the
//      whole push. Target: within 10% of 5 MiB/s.
// Exit status: 0 ok (missed targets are reported, not fatal), 1 a command failed or a read was wrong.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import crypto from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BENCH_OPTIONS, die as dieAs, parseOptions, runMain } from './lib/cli.mjs';
import { measure, sh, shq, warmPageCache } from './lib/measure.mjs';
import { MiB, duBytes, fmtDuration, loadavg, machineInfo, median, mib, writeSection } from './lib/report.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const GEN = path.join(ROOT, 'scripts/gen-dataset.mjs');
const SECTION = 'Remote (scripts/bench-remote)';
const PASSWORD = 'bench-remote';
const LARGE_REL = 'bench/large-100M.mp4';
const LARGE_SIZE = 100 * MiB;
const BW_STORE_SIZE = 50 * MiB;
const BW_LIMIT = '5M';
const BW_LIMIT_BYTES = 5 * MiB;
const TARGETS = { pushVsCopy: 0.9, mountVsRestore: 0.8, fetchedVsPacked: 1.1, bwTolerance: 0.1 };

const die = (msg) => dieAs('bench-remote', msg);
const { values: args } = parseOptions(
  'bench-remote',
  process.argv.slice(2),
  {
    ...BENCH_OPTIONS,
    rounds: { type: 'string' },
    cli: { type: 'string' },
    'push-only': { type: 'boolean' },
  },
  { help: import.meta.url },
);
const size = args.size ?? (args.quick ? '100M' : '1G');
const seed = String(args.seed ?? 42);
const rounds = Number(args.rounds ?? 2);
if (!Number.isInteger(rounds) || rounds < 1) die('--rounds needs a whole number ≥ 1');
const CLI = path.resolve(args.cli ?? path.join(ROOT, 'dist/cli/main.js'));
const outFile = args.out === '-' || (args['push-only'] && !args.out) ? null : path.resolve(ROOT, args.out ?? 'docs/BENCHMARKS.md');
if (!fs.existsSync(CLI)) die(`${path.relative(process.cwd(), CLI)} is missing; run \`npx tsc -p tsconfig.json\` first`);
for (const tool of ['rclone', 'fusermount', 'sha256sum', 'du']) if (spawnSync('which', [tool]).status !== 0) die(`${tool} is not installed`);

const t0 = Date.now();
const startedAt = new Date();
const loadBefore = loadavg();
const work = fs.mkdtempSync(path.join(path.resolve(args.workdir ?? os.tmpdir()), 'sinki-bench-remote-'));
const served = path.join(work, 'served');
const localRemote = path.join(work, 'local-remote');
const rcloneConfig = path.join(work, 'rclone.conf');
/** @type {NodeJS.ProcessEnv} */
const env = { ...process.env, SINKI_PASSWORD: PASSWORD, RCLONE_CONFIG: rcloneConfig, XDG_CACHE_HOME: path.join(work, 'xdg-cache') };
delete env.SINKI_STORE;
delete env.SINKI_RCLONE;
const log = (s) => process.stderr.write(`bench-remote: ${s}${s.startsWith('[') ? `  (load ${loadavg()})` : ''}\n`);
/** @type {Awaited<ReturnType<typeof serveWebdav>> | null} */
let server = null;
const mounts = new Map(); // mountpoint → pid
let ok = false;
let cleanedUp = false;

process.on('exit', cleanup);
ok = await runMain('bench-remote', main);
cleanup(); // the server child would keep node running

/** Unmounts, stops the server (by pid), removes the work folder; runs once. */
function cleanup() {
  if (cleanedUp) return;
  cleanedUp = true;
  for (const [mnt, pid] of mounts) {
    spawnSync('fusermount', ['-uz', mnt]);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  if (server && server.exitCode === null) server.kill('SIGKILL');
  if (args.keep) log(`work folder kept: ${work}`);
  else fs.rmSync(work, { recursive: true, force: true });
  if (!ok) log('FAILED');
}

async function main() {
  const machine = benchMachine();
  log(`work folder ${work}; ${machine.nproc} cores, load ${loadBefore}`);
  fs.mkdirSync(served);
  fs.mkdirSync(localRemote);
  const webdav = await serveWebdav();
  server = webdav;
  log(`rclone serve webdav on 127.0.0.1:${webdav.port} (pid ${webdav.pid})`);

  const dataset = path.join(work, 'dataset');
  log(`generating dataset (${size}, seed ${seed}) plus ${LARGE_REL}`);
  sh(`node ${shq(GEN)} ${shq(dataset)} --size ${shq(size)} --seed ${shq(seed)}`, { stdio: ['ignore', 'pipe', 'inherit'] });
  writeRandomFile(path.join(dataset, LARGE_REL), LARGE_SIZE, `large-${seed}`);
  const datasetBytes = Number(sh(`du -sb --apparent-size ${shq(dataset)}`).split('\t')[0]);

  const store = path.join(work, 'store');
  await sinki(['init', '--kdf', 'pbkdf2', '--kdf-iterations', '1000', '--insecure-kdf'], store);
  warmPageCache(dataset);
  log(`[backup] sinki backup of ${mib(datasetBytes)} MiB`);
  const backup = await measure('node', [CLI, '-s', store, 'backup', dataset], { env });
  const storeBytes = duBytes(store);
  log(`[backup] ${backup.seconds.toFixed(1)} s, store ${mib(storeBytes)} MiB`);

  // 1. push vs rclone copy, to the WebDAV remote and to a local-path remote.
  const transfer = [];
  for (const target of [
    { kind: 'WebDAV (rclone serve webdav)', remote: (name) => `w:${name}` },
    { kind: 'local path (rclone local backend)', remote: (name) => `l:${path.join(localRemote, name)}` },
  ]) {
    for (let round = 1; round <= rounds; round++) {
      for (const tool of round % 2 === 1 ? ['push', 'copy'] : ['copy', 'push']) {
        warmPageCache(store);
        sh('sync');
        const remote = target.remote(`${tool}-${round}`);
        log(`[transfer] ${tool} → ${remote}`);
        const r =
          tool === 'push'
            ? await measure('node', [CLI, '-s', store, 'push', remote, '--json'], { env })
            : await measure('rclone', ['copy', store, remote], { env });
        transfer.push({ kind: target.kind, tool, round, remote, seconds: r.seconds, peakRss: r.peakRss, load: loadavg() });
        log(`[transfer] ${tool} ${r.seconds.toFixed(2)} s`);
      }
    }
  }

  if (args['push-only']) {
    const elapsed = (Date.now() - t0) / 1000;
    const md = render({ machine, datasetBytes, storeBytes, backup, transfer, read: null, bw: null, elapsed });
    process.stdout.write(`\n${md}\n`);
    if (outFile) writeSection(outFile, SECTION, md);
    log(`done in ${fmtDuration(elapsed)}`);
    return;
  }

  // 2. one 100 MiB file from the pushed WebDAV store: mount + cat vs restore --include.
  const remoteStore = 'rclone:w:push-1';
  const packed = await packedSize(store, `/${path.basename(dataset)}/${LARGE_REL}`);
  const largeSha = sh(`sha256sum ${shq(path.join(dataset, LARGE_REL))}`).split(' ')[0];
  warmPageCache(path.join(served, 'push-1'));
  sh('sync');

  const mnt = path.join(work, 'mnt');
  fs.mkdirSync(mnt);
  const mountCache = path.join(work, 'cache-mount');
  const tMount = performance.now();
  const m = await sinki(['--cache-dir', mountCache, 'mount', mnt, '--background'], remoteStore);
  const mountPid = Number(/\(pid (\d+),/.exec(m.stdout)?.[1]);
  mounts.set(mnt, mountPid);
  const mountUpS = (performance.now() - tMount) / 1000;
  const [snapDir] = fs.readdirSync(path.join(mnt, '.snapshots'));
  const mountedFile = path.join(mnt, '.snapshots', snapDir, path.basename(dataset), LARGE_REL);
  log('[read] cat through the mount');
  let before = serverWritten();
  const cat = await measure('bash', ['-c', `cat ${shq(mountedFile)} > /dev/null`], { env });
  const mountFetched = serverWritten() - before;
  const mountCached = duBytes(mountCache);
  const mountSha = sh(`sha256sum ${shq(mountedFile)}`).split(' ')[0];
  await sinki(['umount', mnt]);
  await waitFor(() => !alive(mountPid));
  mounts.delete(mnt);
  if (mountSha !== largeSha) throw new Error(`the file read through the mount differs from the original (${mountSha} vs ${largeSha})`);

  log('[read] sinki restore --include');
  const restoreTarget = path.join(work, 'restore');
  const restoreCache = path.join(work, 'cache-restore');
  before = serverWritten();
  const restore = await measure(
    'node',
    [CLI, '-s', remoteStore, '--cache-dir', restoreCache, 'restore', 'latest', restoreTarget, '--include', `/${path.basename(dataset)}/${LARGE_REL}`],
    { env },
  );
  const restoreFetched = serverWritten() - before;
  const restoreSha = sh(`sha256sum ${shq(path.join(restoreTarget, path.basename(dataset), LARGE_REL))}`).split(' ')[0];
  if (restoreSha !== largeSha) throw new Error('the restored file differs from the original');
  const read = { packed, mountUpS, cat, mountFetched, mountCached, restore, restoreFetched, restoreCached: duBytes(restoreCache) };

  // 3. bandwidth limit: a ~50 MiB store pushed with --bwlimit 5M.
  const bwData = path.join(work, 'bw-data');
  for (let i = 0; i < 5; i++) writeRandomFile(path.join(bwData, `part-${i}.jpg`), BW_STORE_SIZE / 5, `bw-${seed}-${i}`);
  const bwStore = path.join(work, 'bw-store');
  await sinki(['init', '--kdf', 'pbkdf2', '--kdf-iterations', '1000', '--insecure-kdf'], bwStore);
  await sinki(['backup', bwData], bwStore);
  warmPageCache(bwStore);
  log(`[bwlimit] push --bwlimit ${BW_LIMIT} of ${mib(duBytes(bwStore))} MiB`);
  const samples = [];
  const sampler = setInterval(() => samples.push({ t: performance.now() / 1000, bytes: serverRead() }), 100);
  const bwPush = await measure('node', [CLI, '-s', bwStore, 'push', 'w:bw', '--bwlimit', BW_LIMIT, '--json'], { env });
  clearInterval(sampler);
  const bwSummary = summaryOf(bwPush.stdout);
  const bw = { seconds: bwPush.seconds, bytes: bwSummary.bytes, steady: steadyRate(samples) };

  const elapsed = (Date.now() - t0) / 1000;
  const md = render({ machine, datasetBytes, storeBytes, backup, transfer, read, bw, elapsed });
  process.stdout.write(`\n${md}\n`);
  if (outFile) {
    writeSection(outFile, SECTION, md);
    log(`wrote section "${SECTION}" of ${path.relative(process.cwd(), outFile) || outFile}`);
  }
  log(`done in ${fmtDuration(elapsed)}`);
}

// ---- remote, sinki, measurements ------------------------------------------------------------

async function serveWebdav() {
  const port = await freePort();
  const child = spawn('rclone', ['serve', 'webdav', served, '--addr', `127.0.0.1:${port}`], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-2000)));
  fs.writeFileSync(rcloneConfig, `[w]\ntype = webdav\nurl = http://127.0.0.1:${port}\nvendor = other\n\n[l]\ntype = local\n`, { mode: 0o600 });
  await waitFor(() => {
    if (child.exitCode !== null) throw new Error(`rclone serve webdav exited: ${stderr}`);
    return listening(port);
  });
  return Object.assign(child, { port });
}

/** Bytes the WebDAV server has written (to its sockets: what it sent) / read (what it received). */
function serverWritten() {
  return serverIo('wchar');
}
function serverRead() {
  return serverIo('rchar');
}
function serverIo(field) {
  return Number(new RegExp(`^${field}:\\s*(\\d+)`, 'm').exec(fs.readFileSync(`/proc/${server?.pid}/io`, 'utf8'))?.[1]);
}

/** Received bytes per second between 10% and 90% of what the server got. */
function steadyRate(samples) {
  const start = samples[0].bytes;
  const total = samples.at(-1).bytes - start;
  const a = samples.find((s) => s.bytes - start >= 0.1 * total);
  const b = samples.find((s) => s.bytes - start >= 0.9 * total);
  return (b.bytes - a.bytes) / (b.t - a.t);
}

async function sinki(argv, store) {
  const r = await measure('node', [CLI, ...(store ? ['-s', store] : []), ...argv], { env });
  return r;
}

function summaryOf(stdout) {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l))
    .filter((l) => l.type === 'summary')
    .at(-1);
}

/**
 * Sum of the sealed lengths of a file's chunks, from the store's own index (the built modules, in
 * a child process: an opened store keeps file handles that this process has no use for).
 */
async function packedSize(store, filePath) {
  const dist = path.dirname(path.dirname(CLI));
  const code = `
    const [dist, store, filePath, password] = process.argv.slice(1);
    const { Repository } = await import(dist + '/repo/repository.js');
    const { LocalBackend } = await import(dist + '/backend/local.js');
    const repo = await Repository.open(new LocalBackend(store), Buffer.from(password));
    let tree = await repo.loadTree((await repo.listSnapshots()).at(-1).tree);
    const parts = filePath.split('/').filter(Boolean);
    for (const [i, name] of parts.entries()) {
      const node = tree.nodes.find((n) => n.name === name);
      if (!node) throw new Error(filePath + ': ' + name + ' is not in the snapshot');
      if (i === parts.length - 1) {
        process.stdout.write(String(node.chunks.reduce((sum, [id]) => sum + repo.index.get(id).length, 0)));
        process.exit(0);
      }
      tree = await repo.loadTree(node.subtree);
    }`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code, pathToFileURL(dist).href, store, filePath, PASSWORD], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`packed size of ${filePath}: ${r.stderr.trim()}`);
  return Number(r.stdout);
}

function writeRandomFile(file, bytes, seedText) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const key = crypto.createHash('sha256').update(seedText).digest();
  const cipher = crypto.createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
  const fd = fs.openSync(file, 'w');
  const zero = Buffer.alloc(MiB);
  for (let done = 0; done < bytes; done += MiB) fs.writeSync(fd, cipher.update(zero.subarray(0, Math.min(MiB, bytes - done))));
  fs.closeSync(fd);
}

async function freePort() {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (s.address());
      s.close(() => res(port));
    });
    s.on('error', rej);
  });
}

function listening(port) {
  return new Promise((res) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      res(true);
    });
    socket.once('error', () => res(false));
  });
}

async function waitFor(test, timeoutMs = 30_000) {
  const until = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

function alive(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

// ---- report ---------------------------------------------------------------------------------

function render({ machine, datasetBytes, storeBytes, backup, transfer, read, bw, elapsed }) {
  const L = [];
  L.push(`## ${SECTION}`, '');
  L.push(
    '`sinki push` against a bare `rclone copy` of the same store folder, reads of one file of a remote',
    'snapshot through the mount against `sinki restore --include`, and `push --bwlimit`, all against',
    '`rclone serve webdav` on 127.0.0.1 (and a local-path remote for the copies). Stores use',
    '`--kdf pbkdf2 --kdf-iterations 1000 --insecure-kdf` (key derivation is not what is measured). MiB/s = store (or file) bytes /',
    'wall time. Peak RSS is that of the whole process tree (sinki and the rclone processes it runs).',
    '',
    'A push runs one `rclone rcd` on 127.0.0.1 and drives it through the rc API: the packs and, beside',
    'them, the index/snapshots/refs staged in a `.tmp-push-*` folder go up as concurrent jobs of that one',
    'process; then the staged files are renamed into place phase by phase (server-side moves) and the',
    'staging folder removed, so that the remote never shows a half-sent index or snapshot. What a push',
    "costs beyond a copy is sinki's own start (node, opening the store, freezing its metadata) and those",
    'renames: fixed tenths of a second that weigh most on loopback, where the copy itself takes seconds.',
    '',
  );
  L.push(`### Results: ${size} dataset + one 100 MiB file, seed ${seed}${read ? '' : ' (push vs copy only)'}`, '');
  L.push(
    `Run ${startedAt.toISOString().replace(/\.\d+Z$/, 'Z')}, took ${fmtDuration(elapsed)}; load average (1/5/15 min) ${loadBefore} at start, ${loadavg()} at end on ${machine.nproc} cores.`,
    '',
  );
  L.push(`Dataset ${mib(datasetBytes)} MiB; \`sinki backup\` took ${backup.seconds.toFixed(1)} s; store ${mib(storeBytes)} MiB (\`du -sb\`).`, '');

  L.push(`Push vs. copy of the store folder to a fresh remote path (${rounds} rounds, alternating order; load = 1-minute load average after the run):`, '');
  L.push('| remote | tool | round | wall s | MiB/s | peak RSS MiB | load |', '|---|---|---:|---:|---:|---:|---:|');
  for (const t of transfer)
    L.push(
      `| ${t.kind} | ${t.tool === 'push' ? '`sinki push`' : '`rclone copy`'} | ${t.round} | ${t.seconds.toFixed(2)} | ${(storeBytes / MiB / t.seconds).toFixed(1)} | ${(t.peakRss / MiB).toFixed(0)} | ${t.load.split(' ')[0]} |`,
    );
  L.push('');
  if (!read) return renderTargets(L, transfer, null, null, machine);

  L.push(`One ${mib(LARGE_SIZE, 0)} MiB file (\`${LARGE_REL}\`, packed size ${mib(read.packed, 2)} MiB) from the WebDAV store, empty --cache-dir each:`, '');
  L.push('| read | wall s | MiB/s | fetched from the remote MiB | fetched / packed | cache dir MiB |', '|---|---:|---:|---:|---:|---:|');
  L.push(
    `| \`cat\` through the mount (mount already up; mounting took ${read.mountUpS.toFixed(1)} s) | ${read.cat.seconds.toFixed(2)} | ${(LARGE_SIZE / MiB / read.cat.seconds).toFixed(1)} | ${mib(read.mountFetched, 2)} | ${(read.mountFetched / read.packed).toFixed(3)} | ${mib(read.mountCached, 2)} |`,
  );
  L.push(
    `| \`sinki restore --include\` (whole command) | ${read.restore.seconds.toFixed(2)} | ${(LARGE_SIZE / MiB / read.restore.seconds).toFixed(1)} | ${mib(read.restoreFetched, 2)} | ${(read.restoreFetched / read.packed).toFixed(3)} | ${mib(read.restoreCached, 2)} |`,
  );
  L.push('');

  L.push(
    `\`sinki push --bwlimit ${BW_LIMIT}\` of a ${mib(bw.bytes)} MiB store: ${(bw.steady / MiB).toFixed(2)} MiB/s received by the server over the 10%–90% stretch; ${(bw.bytes / MiB / bw.seconds).toFixed(2)} MiB/s for the whole push (${bw.seconds.toFixed(1)} s, including its rclone starts and renames).`,
    '',
  );

  return renderTargets(L, transfer, read, bw, machine);
}

function renderTargets(L, transfer, read, bw, machine) {
  const best = (kind, tool) => Math.min(...transfer.filter((t) => t.kind === kind && t.tool === tool).map((t) => t.seconds));
  const rows = [];
  for (const kind of [...new Set(transfer.map((t) => t.kind))]) {
    const ratio = best(kind, 'copy') / best(kind, 'push');
    rows.push([`push throughput ≥ ${TARGETS.pushVsCopy}× rclone copy (${kind}, best of ${rounds})`, `${ratio.toFixed(2)}×`, ratio >= TARGETS.pushVsCopy]);
    const pairs = [];
    for (let round = 1; round <= rounds; round++) {
      const of = (tool) => transfer.find((t) => t.kind === kind && t.tool === tool && t.round === round).seconds;
      pairs.push(of('copy') / of('push'));
    }
    const mid = median(pairs);
    rows.push([
      `push throughput ≥ ${TARGETS.pushVsCopy}× rclone copy (${kind}, median of the ${rounds} side-by-side ratios: ${pairs.map((r) => r.toFixed(2)).join(', ')})`,
      `${mid.toFixed(2)}×`,
      mid >= TARGETS.pushVsCopy,
    ]);
  }
  if (!read) {
    L.push('### Against the targets', '', '| target | measured | |', '|---|---:|---|');
    for (const [what, value, met] of rows) L.push(`| ${what} | ${value} | ${met ? 'met' : '**missed**'} |`);
    L.push('');
    return renderFooter(L, machine);
  }
  const mountVsRestore = read.restore.seconds / read.cat.seconds;
  rows.push([`mount read ≥ ${TARGETS.mountVsRestore}× restore --include speed`, `${mountVsRestore.toFixed(2)}×`, mountVsRestore >= TARGETS.mountVsRestore]);
  const fetched = Math.max(read.mountFetched, read.restoreFetched) / read.packed;
  rows.push([
    `bytes fetched ≤ ${TARGETS.fetchedVsPacked}× the file's packed size (worse of the two)`,
    `${fetched.toFixed(3)}×`,
    fetched <= TARGETS.fetchedVsPacked,
  ]);
  const bwErr = bw.steady / BW_LIMIT_BYTES - 1;
  rows.push([
    `--bwlimit ${BW_LIMIT} honoured within ${TARGETS.bwTolerance * 100}% (steady rate)`,
    `${bwErr >= 0 ? '+' : ''}${(bwErr * 100).toFixed(1)}%`,
    Math.abs(bwErr) <= TARGETS.bwTolerance,
  ]);
  const bwWhole = bw.bytes / bw.seconds / BW_LIMIT_BYTES - 1;
  rows.push([
    `--bwlimit ${BW_LIMIT} honoured within ${TARGETS.bwTolerance * 100}% (whole push)`,
    `${bwWhole >= 0 ? '+' : ''}${(bwWhole * 100).toFixed(1)}%`,
    Math.abs(bwWhole) <= TARGETS.bwTolerance,
  ]);
  L.push('### Against the targets', '', '| target | measured | |', '|---|---:|---|');
  for (const [what, value, met] of rows) L.push(`| ${what} | ${value} | ${met ? 'met' : '**missed**'} |`);
  L.push('');

  return renderFooter(L, machine);
}

function renderFooter(L, machine) {
  L.push('### Machine', '');
  L.push(`- ${machine.nproc} cores (nproc), CPU: ${machine.cpu}, RAM ${machine.memGiB} GiB; ${machine.kernel}`);
  L.push(`- node ${process.version}; ${machine.rclone}`);
  L.push(`- sinki at ${machine.git}`, '');
  L.push(
    '### Reproduce',
    '',
    '```sh',
    `npx tsc -p tsconfig.json && scripts/bench-remote${args.quick ? ' --quick' : ` --size ${size}`} --seed ${seed}${rounds !== 2 ? ` --rounds ${rounds}` : ''}${args['push-only'] ? ' --push-only' : ''}`,
    '```',
    '',
  );
  L.push(
    'Commands measured (`w:` = the WebDAV remote, `l:` = local path; each push/copy to a new path):',
    '',
    '```sh',
    'sinki -s STORE push w:push-N --json            rclone copy STORE w:copy-N',
    'sinki -s rclone:w:push-1 --cache-dir C1 mount MNT --background',
    `cat MNT/.snapshots/*/dataset/${LARGE_REL} > /dev/null`,
    `sinki -s rclone:w:push-1 --cache-dir C2 restore latest T --include /dataset/${LARGE_REL}`,
    `sinki -s BWSTORE push w:bw --bwlimit ${BW_LIMIT} --json`,
    '```',
    '',
    'Numbers move with machine load (see the load average above): other work shared these cores.',
  );
  return L.join('\n');
}

/** The machine and rclone's version. */
function benchMachine() {
  return { ...machineInfo(ROOT), rclone: spawnSync('rclone', ['version'], { encoding: 'utf8' }).stdout.split('\n')[0] };
}
