#!/usr/bin/env node
// bench-mount-rewrite — how much store a read-write mount keeps under rewrites, over time.
//
//   npx tsc -p tsconfig.json
//   scripts/bench-mount-rewrite [--seconds 90] [--files 4] [--file-size 16M] [--out docs/BENCHMARKS.md | --out -] [--keep-log FILE]
//
// A fresh store is mounted (no snapshots) and, for --seconds, two writer processes overwrite random
// ranges (64 KiB–1 MiB of random bytes) in --files files of at most --file-size each, appending and
// truncating now and then and calling fsync every few writes; a third process keeps a SQLite
// database in WAL mode under churn (inserts, updates, deletes; Debian's sqlite3 is installed when
// missing). The writers work in bursts of 8 s with 4 s pauses. The store's pack bytes are sampled
// against the live data (the apparent size of the files in the mount) every second, at any moment,
// and at the end of each pause, once the mount has committed and freed what the burst superseded.
// Then `sinki umount` is timed and the store measured again. Targets (space that frees itself):
// ≤ 1.5× live once a commit has passed, ≤ 1.25× after unmount; unmount within 5 s plus sealing what
// is dirty.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseOptions } from './lib/cli.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseOptions(
  'bench-mount-rewrite',
  process.argv.slice(2),
  {
    seconds: { type: 'string', default: '90' },
    files: { type: 'string', default: '4' },
    'file-size': { type: 'string', default: '16M' },
    out: { type: 'string', default: 'docs/BENCHMARKS.md' },
    'keep-log': { type: 'string' },
  },
  { help: import.meta.url },
);
const seconds = Number(args.seconds);
const files = Number(args.files);
const parseSize = (s) => {
  const m = /^(\d+)([KMG]?)$/i.exec(s);
  if (!m) throw new Error(`bad size ${s}`);
  return Number(m[1]) * { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2].toUpperCase()];
};
const fileSize = parseSize(String(args['file-size']));
const out = String(args.out);
const cli = path.join(root, 'dist/cli/main.js');
const MiB = 2 ** 20;

if (spawnSync('sqlite3', ['-version']).status !== 0) {
  execFileSync('bash', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlite3 >/dev/null'], { stdio: 'inherit' });
}

const work = fs.mkdtempSync(path.join('/var/tmp', 'sinki-bench-rewrite-'));
const store = path.join(work, 'store');
const mnt = path.join(work, 'mnt');
fs.mkdirSync(mnt);
const env = { ...process.env, SINKI_PASSWORD: 'bench-password' };
const sinki = (...a) => execFileSync(process.execPath, [cli, '-s', store, ...a], { env, encoding: 'utf8' });
const children = [];
const cleanup = () => {
  for (const c of children) c.kill('SIGKILL');
  spawnSync('fusermount', ['-uz', mnt]);
  fs.rmSync(work, { recursive: true, force: true });
};
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

function packBytes() {
  let total = 0;
  const dir = path.join(store, 'packs');
  for (const sub of fs.existsSync(dir) ? fs.readdirSync(dir) : [])
    for (const f of fs.readdirSync(path.join(dir, sub))) total += fs.statSync(path.join(dir, sub, f)).size;
  return total;
}
function liveBytes() {
  let total = 0;
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.name === '.snapshots' || e.name === '.versions') continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) total += fs.statSync(p).size;
    }
  };
  walk(mnt);
  return total;
}

sinki('init', '--kdf', 'pbkdf2', '--kdf-iterations', '100000', '--insecure-kdf');
sinki('mount', mnt, '--background', '--no-snapshot-on-unmount');
const mountPid = Number(/\(pid (\d+),/.exec(fs.readFileSync(path.join(work, '.mnt.sinki-mount.log'), 'utf8') + sinkiStatus())?.[1] ?? 0);
function sinkiStatus() {
  return spawnSync('pgrep', ['-af', `mount ${mnt}`], { encoding: 'utf8' }).stdout.replace(/^(\d+) .*/m, '(pid $1,');
}

// Writers: separate processes, so the mount sees concurrent clients as it would from programs.
const writer = `
const fs = require('fs'); const { randomBytes, randomInt } = require('crypto');
const [dir, n, max, until, seed] = [process.argv[1], +process.argv[2], +process.argv[3], +process.argv[4], process.argv[5]];
let ops = 0;
let bytes = 0;
const t0 = Date.now();
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
while (Date.now() < until) {
  if ((Date.now() - t0) % 12000 >= 8000) { sleep(12000 - ((Date.now() - t0) % 12000)); continue; }
  const f = dir + '/data-' + seed + '-' + randomInt(n) + '.bin';
  const fd = fs.openSync(f, fs.existsSync(f) ? 'r+' : 'w+');
  const size = fs.fstatSync(fd).size;
  const r = randomInt(100);
  if (r < 5 && size > 0) fs.ftruncateSync(fd, randomInt(size));
  else if (r < 15) bytes += fs.writeSync(fd, randomBytes(randomInt(64 * 1024, 1024 * 1024)), 0, undefined, Math.min(size, max - 1024 * 1024));
  else { const len = randomInt(64 * 1024, 1024 * 1024); bytes += fs.writeSync(fd, randomBytes(len), 0, len, randomInt(Math.max(1, Math.min(size, max - len)))); }
  if (++ops % 4 === 0) fs.fsyncSync(fd);
  fs.closeSync(fd);
}
process.stdout.write(JSON.stringify({ ops, bytes }));`;
const start = Date.now();
const until = start + seconds * 1000;
/** @type {Array<{ ops: number, bytes: number }>} */
const writerReports = [];
for (const seed of ['a', 'b']) {
  const child = spawn(process.execPath, ['-e', writer, mnt, String(files / 2), String(fileSize), String(until), seed], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let report = '';
  child.stdout.on('data', (d) => (report += d));
  child.on('exit', () => writerReports.push(JSON.parse(report || '{"ops":0,"bytes":0}')));
  children.push(child);
}
const sql = `
PRAGMA journal_mode=WAL;
CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, k INTEGER, v BLOB);
`;
fs.writeFileSync(path.join(work, 'init.sql'), sql);
execFileSync('sqlite3', [path.join(mnt, 'churn.db')], { input: sql });
const churn = `
set -e
db="$1"; until_s=$2
i=0
start_ms=$(date +%s%3N)
while [ "$(date +%s)" -lt "$until_s" ]; do
  if [ $(( ($(date +%s%3N) - start_ms) % 12000 )) -ge 8000 ]; then sleep 0.5; continue; fi
  { echo "BEGIN;"
    for j in $(seq 200); do echo "INSERT INTO t(k, v) VALUES ($RANDOM, randomblob(2000));"; done
    echo "UPDATE t SET v = randomblob(2000) WHERE k % 7 = $((RANDOM % 7));"
    echo "DELETE FROM t WHERE k % 5 = $((RANDOM % 5)) AND id % 3 = 0;"
    echo "COMMIT;"; } | sqlite3 "$db"
  i=$((i + 1))
done
echo "$i transactions" >&2`;
children.push(spawn('bash', ['-c', churn, 'churn', path.join(mnt, 'churn.db'), String(Math.floor(until / 1000))], { stdio: 'inherit' }));

const samples = [];
const t0 = start;
for (let tick = 1; Date.now() < until + 1000; tick++) {
  await new Promise((r) => setTimeout(r, Math.max(0, t0 + tick * 1000 - Date.now())));
  const live = liveBytes();
  const stored = packBytes();
  // The last second of a pause: the burst's changes are committed and what they superseded freed.
  const quiet = tick % 12 === 0;
  samples.push({ t: tick, live, stored, quiet });
  console.log(
    `${String(tick).padStart(4)} s  live ${(live / MiB).toFixed(1)} MiB  store ${(stored / MiB).toFixed(1)} MiB  ${(stored / Math.max(live, 1)).toFixed(2)}×${quiet ? '  (quiet)' : ''}`,
  );
}
await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(undefined) : c.on('exit', r)))));
const written = JSON.parse(JSON.stringify(samples));
const writtenBytes = writerReports.reduce((n, r) => n + r.bytes, 0);
const writeOps = writerReports.reduce((n, r) => n + r.ops, 0);
// The writers work 8 s of every 12.
const burstSeconds = Math.floor(seconds / 12) * 8 + Math.min(8, seconds % 12);
const liveEnd = liveBytes();
execFileSync('sync', [mnt]);
const u0 = Date.now();
sinki('umount', mnt);
const umountS = (Date.now() - u0) / 1000;
const storedEnd = packBytes();
const integrity = spawnSync(
  'bash',
  [
    '-c',
    `node ${cli} -s ${store} mount ${mnt} --background --no-snapshot-on-unmount >/dev/null && sqlite3 ${mnt}/churn.db 'PRAGMA integrity_check;'; node ${cli} umount ${mnt} >/dev/null`,
  ],
  { env, encoding: 'utf8' },
).stdout.trim();
const log = fs.readFileSync(path.join(work, '.mnt.sinki-mount.log'), 'utf8');
if (args['keep-log']) fs.writeFileSync(String(args['keep-log']), log);
const roundMs = [...log.matchAll(/MiB moved, (\d+) ms\)/g)].map((m) => Number(m[1])).sort((a, b) => a - b);
const rounds = roundMs.length;
const ratio = (s) => s.stored / Math.max(s.live, 1);
const ratios = written
  .filter((s) => s.t >= 4)
  .map(ratio)
  .sort((a, b) => a - b);
const max = ratios.at(-1);
const median = ratios[Math.floor(ratios.length / 2)];
const quietRatios = written.filter((s) => s.quiet).map(ratio);
const curve = written
  .filter((s) => s.t % 4 === 0)
  .map((s) => `| ${s.t}${s.quiet ? ' (quiet)' : ''} | ${(s.live / MiB).toFixed(1)} | ${(s.stored / MiB).toFixed(1)} | ${ratio(s).toFixed(2)} |`);
const section = `## Mount under rewrites (scripts/bench-mount-rewrite)

${seconds} s on a fresh mount, in bursts of 8 s writing and 4 s pause: two writers overwriting random ranges (64 KiB–1 MiB of random bytes) of ${files} files of at most ${fileSize / MiB} MiB, with appends, truncates and an fsync every 4 writes, plus a SQLite database in WAL mode under churn (200 inserts, an update and a delete per transaction). ${os.cpus().length} cores, load average ${os
  .loadavg()
  .map((l) => l.toFixed(2))
  .join(' ')} at the end, ${new Date().toISOString().slice(0, 10)}. mount pid ${mountPid || '?'}.

Store (pack bytes) against live data (the files' apparent size), sampled every second; every fourth sample, and the last second of each pause (quiet):

| s | live MiB | store MiB | store ÷ live |
| ---: | ---: | ---: | ---: |
${curve.join('\n')}

Once a commit has passed (end of each pause): ${quietRatios.map((r) => `${r.toFixed(2)}×`).join(', ')} (target ≤ 1.5×). At any moment (every second from 4 s on, mid-burst included: a commit rewrites each touched 4 MiB chunk whole before the next round frees the old one): median ${median.toFixed(2)}×, max ${max.toFixed(2)}×. ${rounds} freeing rounds freed space (median ${roundMs[Math.floor(rounds / 2)] ?? '?'} ms, longest ${roundMs.at(-1) ?? '?'} ms, writes waiting meanwhile).
The two writers wrote ${(writtenBytes / MiB).toFixed(0)} MiB in ${writeOps} writes, ${(writtenBytes / MiB / burstSeconds).toFixed(1)} MiB/s over the ${burstSeconds} s of bursts (fsync included).
After \`sinki umount\` (${umountS.toFixed(1)} s): store ${(storedEnd / MiB).toFixed(1)} MiB for ${(liveEnd / MiB).toFixed(1)} MiB live, ${(storedEnd / Math.max(liveEnd, 1)).toFixed(2)}× (target ≤ 1.25×). SQLite \`PRAGMA integrity_check\` after remounting: ${integrity || '?'}.

Reproduce: \`scripts/bench-mount-rewrite --seconds ${seconds} --files ${files} --file-size ${fileSize / MiB}M\`
`;
console.log(section);
if (out !== '-') {
  const file = path.resolve(root, out);
  let doc = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmarks\n';
  const start = doc.indexOf('## Mount under rewrites (scripts/bench-mount-rewrite)');
  if (start >= 0) {
    const next = doc.indexOf('\n## ', start + 5);
    doc = doc.slice(0, start) + section + (next >= 0 ? doc.slice(next + 1) : '');
  } else doc = `${doc.trimEnd()}\n\n${section}`;
  fs.writeFileSync(file, doc);
}
