#!/usr/bin/env node
// bench-backup — `sinki backup` / `sinki restore` against a `tar | xz` pipeline on one generated dataset.
//
//   npx tsc -p tsconfig.json
//   scripts/bench-backup [--size 1G] [--quick] [--preset 1] [--seed 42] [--keep]
//                        [--out docs/BENCHMARKS.md | --out -] [--workdir DIR]
//
//   --size S     dataset size for scripts/gen-dataset.mjs (default 1G); --quick = --size 100M
//   --preset N   xz preset for both `xz -T2 -N` and `sinki init --preset N` (default 1)
//   --seed N     dataset seed (default 42)
//   --keep       keep the work folder (dataset, stores, archives, restores) and print its path
//   --out FILE   markdown file whose "Backup and restore (scripts/bench-backup)" section is written
//                or replaced (default docs/BENCHMARKS.md; "-" = print only)
//   --workdir D  where the temporary work folder is made (default: the OS temp dir). Dataset,
//                archives, stores and restores all live in it, so on one disk.
//
// For the whole dataset and again for its small-files subtree deep/ it measures:
//   tar -cf - DIR | xz -T2 -N > out.tar.xz      wall time, MB/s, output size, peak RSS
//   xz -d -T2 < out.tar.xz | tar -xpf -         wall time, MB/s           (checked with diff -r)
//   sinki backup DIR into a fresh store          wall time, MB/s, store size (du -sb), peak RSS
//   sinki backup DIR again (nothing changed)     wall time, packs written
//   sinki restore latest TARGET                  wall time, MB/s, peak RSS (checked with diff -r and
//                                                a metadata comparison; any difference fails the run)
// Before every measured command its input is read once (cat > /dev/null) so all of them start
// from a warm page cache, and `sync` flushes earlier writes. MB = 10^6 bytes; MB/s = dataset bytes
// (sum of regular file sizes) / wall time. Exit status: 0 ok (targets missed are reported, not
// fatal), 1 a command failed or a restore was not identical.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BENCH_OPTIONS, die as dieAs, parseOptions, runMain } from './lib/cli.mjs';
import { measure, sh, shq, warmPageCache, gnuTime } from './lib/measure.mjs';
import { MiB, duBytes, fmtDuration, gitHead, loadavg, machineInfo, mib, writeSection } from './lib/report.mjs';
import { treeStats, compareTrees } from './lib/tree-compare.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist/cli/main.js');
const GEN = path.join(ROOT, 'scripts/gen-dataset.mjs');
const SECTION = 'Backup and restore (scripts/bench-backup)';
const TARGETS = { backupVsXz: 0.85, storeVsXz: 1.1, restoreVsBackup: 2, peakRssMiB: 300 };

const die = (msg) => dieAs('bench-backup', msg);
const { values: args } = parseOptions('bench-backup', process.argv.slice(2), { ...BENCH_OPTIONS, preset: { type: 'string' } }, { help: import.meta.url });
const size = args.size ?? (args.quick ? '100M' : '1G');
const preset = Number(args.preset ?? 1);
const seed = String(args.seed ?? 42);
const outFile = args.out === '-' ? null : path.resolve(ROOT, args.out ?? 'docs/BENCHMARKS.md');
if (!Number.isInteger(preset) || preset < 0 || preset > 9) die('--preset must be 0-9');
if (!fs.existsSync(CLI)) die(`${path.relative(process.cwd(), CLI)} is missing; run \`npx tsc -p tsconfig.json\` first`);
for (const tool of ['tar', 'xz', 'diff', 'du', 'sync']) if (spawnSync('which', [tool]).status !== 0) die(`${tool} is not installed`);

/** @type {NodeJS.ProcessEnv} */
const env = { ...process.env, SINKI_PASSWORD: 'bench-backup' };
delete env.SINKI_STORE;
const t0 = Date.now();
const startedAt = new Date();
const loadBefore = loadavg();
const machine = benchMachine();
const work = fs.mkdtempSync(path.join(path.resolve(args.workdir ?? os.tmpdir()), 'sinki-bench-'));
const log = (s) => process.stderr.write(`bench-backup: ${s}${s.startsWith('[') ? `  (load ${loadavg()})` : ''}\n`);
let ok = false;
process.on('exit', () => {
  if (args.keep) log(`work folder kept: ${work}`);
  else fs.rmSync(work, { recursive: true, force: true });
  if (!ok) log('FAILED');
});
ok = await runMain('bench-backup', main);

async function main() {
  log(`work folder ${work}; ${machine.nproc} cores, load ${loadBefore}`);
  const dataset = path.join(work, 'dataset');
  log(`generating dataset (${size}, seed ${seed})`);
  sh(`node ${shq(GEN)} ${shq(dataset)} --size ${shq(size)} --seed ${shq(seed)}`, { stdio: ['ignore', 'pipe', 'inherit'] });

  const subsets = [
    { key: 'all', label: 'whole dataset', dir: dataset },
    { key: 'deep', label: 'deep/ (small files)', dir: path.join(dataset, 'deep') },
  ];
  const results = [];
  for (const s of subsets) results.push(await benchSubset(s));

  const elapsed = (Date.now() - t0) / 1000;
  const md = render(results, elapsed);
  process.stdout.write(`\n${md}\n`);
  if (outFile) {
    writeSection(outFile, SECTION, md);
    log(`wrote section "${SECTION}" of ${path.relative(process.cwd(), outFile) || outFile}`);
  }
  log(`done in ${fmtDuration(elapsed)}`);
}

async function benchSubset(s) {
  const stats = treeStats(s.dir);
  const parent = path.dirname(s.dir);
  const base = path.basename(s.dir);
  const dir = path.join(work, s.key);
  fs.mkdirSync(dir);
  const r = { ...s, stats };
  log(`[${s.label}] ${stats.files} files, ${stats.dirs} dirs, ${stats.symlinks} symlinks, ${mib(stats.bytes)} MiB`);

  // tar | xz
  const archive = path.join(dir, 'out.tar.xz');
  warmPageCache(s.dir);
  sh('sync');
  log(`[${s.label}] tar | xz -T2 -${preset}`);
  const xzC = await measure('bash', ['-o', 'pipefail', '-c', `tar -C ${shq(parent)} -cf - ${shq(base)} | xz -T2 -${preset} > ${shq(archive)}`]);
  r.xz = { backupS: xzC.seconds, backupCpu: xzC.cpuSeconds, backupRss: xzC.peakRss, size: fs.statSync(archive).size };
  const xzTarget = path.join(dir, 'xz-restore');
  fs.mkdirSync(xzTarget);
  warmPageCache(archive);
  sh('sync');
  log(`[${s.label}] xz -d -T2 | tar -x`);
  const xzD = await measure('bash', ['-o', 'pipefail', '-c', `xz -d -T2 < ${shq(archive)} | tar -C ${shq(xzTarget)} -xpf -`]);
  r.xz.restoreS = xzD.seconds;
  r.xz.restoreRss = xzD.peakRss;
  r.xz.restoreCpu = xzD.cpuSeconds;
  verify(s.dir, path.join(xzTarget, base), 'tar/xz', 1000);
  if (!args.keep) fs.rmSync(xzTarget, { recursive: true, force: true });

  // sinki
  const store = path.join(dir, 'store');
  const sinki = (...a) => [CLI, '-s', store, ...a];
  await measure('node', sinki('init', '--kdf', 'pbkdf2', '--kdf-iterations', '1000', '--insecure-kdf', '--preset', String(preset)), { env });
  warmPageCache(s.dir);
  sh('sync');
  log(`[${s.label}] sinki backup`);
  const b1 = await measure('node', sinki('backup', base, '--json'), { cwd: parent, env });
  const sum1 = summary(b1.stdout, 'backup');
  r.sinki = {
    backupS: b1.seconds,
    backupCpu: b1.cpuSeconds,
    backupRss: b1.peakRss,
    size: duBytes(store),
    packs: countPacks(store),
    packsWritten: sum1.packs_written,
  };
  warmPageCache(s.dir);
  sh('sync');
  log(`[${s.label}] sinki backup (again, nothing changed)`);
  const b2 = await measure('node', sinki('backup', base, '--json'), { cwd: parent, env });
  const sum2 = summary(b2.stdout, 'second backup');
  const packsAfter = countPacks(store);
  r.sinki.second = { s: b2.seconds, rss: b2.peakRss, packsWritten: sum2.packs_written ?? packsAfter - r.sinki.packs, storedBytes: sum2.stored_bytes };
  const target = path.join(dir, 'sinki-restore');
  warmPageCache(store);
  sh('sync');
  log(`[${s.label}] sinki restore latest`);
  const rs = await measure('node', sinki('restore', 'latest', target, '--json'), { env });
  const sumR = summary(rs.stdout, 'restore');
  if (sumR.failed) throw new Error(`sinki restore reported ${sumR.failed} failed entries`);
  r.sinki.restoreS = rs.seconds;
  r.sinki.restoreRss = rs.peakRss;
  r.sinki.restoreCpu = rs.cpuSeconds;
  verify(s.dir, path.join(target, base), 'sinki', 1);
  if (!args.keep) fs.rmSync(target, { recursive: true, force: true });
  return r;
}

/** diff -r (contents, symlink targets, missing/extra entries) plus type/mode/size/mtime; throws on any difference. */
function verify(orig, restored, who, mtimeSlackMs) {
  log(`  verifying ${who} restore (diff -r)`);
  const d = spawnSync('diff', ['-r', '--no-dereference', orig, restored], { encoding: 'utf8', maxBuffer: 64 * MiB });
  if (d.status !== 0) {
    const lines = `${d.stdout}${d.stderr}`.trim().split('\n');
    throw new Error(
      `RESTORE NOT IDENTICAL (${who}): diff -r --no-dereference ${orig} ${restored} exited ${d.status}:\n${lines.slice(0, 20).join('\n')}${lines.length > 20 ? `\n... ${lines.length - 20} more lines` : ''}`,
    );
  }
  const { errors, dirMtimeDiffs } = compareTrees(orig, restored, { mtimeSlackMs });
  if (errors.length) throw new Error(`RESTORE NOT IDENTICAL (${who}): ${errors.length} metadata differences:\n${errors.slice(0, 20).join('\n')}`);
  if (dirMtimeDiffs) log(`  note: ${who} restore: ${dirMtimeDiffs} directory mtimes differ (not counted as a failure)`);
}

function summary(stdout, what) {
  const lines = stdout.trim().split('\n').filter(Boolean);
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      const j = JSON.parse(lines[i]);
      if (j.type === 'summary') return j;
    } catch {
      /* not JSON */
    }
  }
  throw new Error(`no JSON summary line in the output of sinki ${what}`);
}

function countPacks(store) {
  const packs = path.join(store, 'packs');
  if (!fs.existsSync(packs)) return 0;
  let n = 0;
  for (const d of fs.readdirSync(packs)) {
    const p = path.join(packs, d);
    if (fs.statSync(p).isDirectory()) n += fs.readdirSync(p).length;
  }
  return n;
}

// ───────────────────────────── report ─────────────────────────────

function render(results, elapsed) {
  const L = [];
  const cmd = `npx tsc -p tsconfig.json && scripts/bench-backup --size ${size} --preset ${preset} --seed ${seed}`;
  L.push(`## ${SECTION}`, '');
  L.push(
    '`sinki backup` / `sinki restore` against `tar -cf - DIR | xz -T2 -N` and `xz -d -T2 | tar -x` on one',
    '`scripts/gen-dataset.mjs` dataset, whole and its small-files subtree `deep/` alone (one compressed',
    'stream vs. per-blob compression). Each measured command runs once, after its input was read into the',
    'page cache and `sync`; a fresh store per row (`sinki init --preset N`). MB = 10^6 bytes, MB/s = dataset',
    'bytes (regular files) / wall time. Peak RSS = max of GNU time `%M` and polled `/proc` VmHWM / tree VmRSS',
    '(for `tar | xz`: the whole pipeline). Both restores are checked with `diff -r --no-dereference` and a',
    'mode/size/mtime/symlink comparison; the script fails if they are not identical.',
    '',
  );
  L.push(`### Results: ${size} dataset, seed ${seed}, xz preset ${preset}`, '');
  L.push(
    `Run ${startedAt.toISOString().replace(/\.\d+Z$/, 'Z')}, took ${fmtDuration(elapsed)}; load average (1/5/15 min) ${loadBefore} at start, ${loadavg()} at end` +
      ` on ${machine.nproc} cores.`,
    '',
  );
  const tools = (r) => [
    [`tar \\| xz -T2 -${preset}`, r.xz],
    [`sinki (preset ${preset})`, r.sinki],
  ];
  L.push('Backup (sinki output = `du -sb` of the fresh store; CPU = user + system of all processes):', '');
  L.push('| data | files | MiB | tool | wall s | MB/s | CPU s | output MiB | output / data | peak RSS MiB |');
  L.push('|---|---:|---:|---|---:|---:|---:|---:|---:|---:|');
  for (const r of results)
    for (const [tool, m] of tools(r))
      L.push(
        `| ${r.label} | ${r.stats.files} | ${mib(r.stats.bytes)} | ${tool} | ${m.backupS.toFixed(2)} | ${mbs(r.stats.bytes, m.backupS)} | ${cpu(m.backupCpu)} | ` +
          `${mib(m.size)} | ${(m.size / r.stats.bytes).toFixed(3)} | ${mib(m.backupRss, 0)} |`,
      );
  L.push('', 'Restore (`xz -d -T2 | tar -xpf -`, `sinki restore latest`), both verified identical:', '');
  L.push('| data | tool | wall s | MB/s | CPU s | peak RSS MiB |');
  L.push('|---|---|---:|---:|---:|---:|');
  for (const r of results)
    for (const [tool, m] of tools(r))
      L.push(`| ${r.label} | ${tool} | ${m.restoreS.toFixed(2)} | ${mbs(r.stats.bytes, m.restoreS)} | ${cpu(m.restoreCpu)} | ${mib(m.restoreRss, 0)} |`);
  L.push('', 'Second `sinki backup` of the unchanged data (incremental, same store):', '');
  L.push('| data | time s | packs written | bytes stored | peak RSS MiB | packs after 1st backup |');
  L.push('|---|---:|---:|---:|---:|---:|');
  for (const r of results) {
    const s2 = r.sinki.second;
    L.push(`| ${r.label} | ${s2.s.toFixed(2)} | ${s2.packsWritten} | ${s2.storedBytes ?? '?'} | ${mib(s2.rss, 0)} | ${r.sinki.packs} |`);
  }
  L.push('', '### Against the targets', '');
  L.push('Ratios are of wall times; under load the CPU-time ratio (xz CPU s / sinki CPU s) is the steadier one.', '');
  L.push('| data | target | measured | |');
  L.push('|---|---|---:|---|');
  for (const r of results) {
    const bt = mbsN(r.stats.bytes, r.sinki.backupS) / mbsN(r.stats.bytes, r.xz.backupS);
    const sz = r.sinki.size / r.xz.size;
    const rb = r.sinki.backupS / r.sinki.restoreS;
    const rss = Math.max(r.sinki.backupRss, r.sinki.restoreRss, r.sinki.second.rss) / MiB;
    const row = (t, v, pass) => L.push(`| ${r.label} | ${t} | ${v} | ${pass ? 'met' : '**missed**'} |`);
    const cpuRatio = r.sinki.backupCpu && r.xz.backupCpu ? ` (CPU time: ${(r.xz.backupCpu / r.sinki.backupCpu).toFixed(2)}×)` : '';
    row(`backup throughput ≥ ${TARGETS.backupVsXz}× tar \\| xz`, `${bt.toFixed(2)}×${cpuRatio}`, bt >= TARGETS.backupVsXz);
    row(`store size ≤ ${TARGETS.storeVsXz.toFixed(2)}× .tar.xz`, `${sz.toFixed(3)}×`, sz <= TARGETS.storeVsXz);
    row(`restore ≥ ${TARGETS.restoreVsBackup}× backup speed`, `${rb.toFixed(2)}×`, rb >= TARGETS.restoreVsBackup);
    row(`peak RSS < ${TARGETS.peakRssMiB} MiB (backup, restore)`, `${rss.toFixed(0)} MiB`, rss < TARGETS.peakRssMiB);
  }
  L.push('', '### Machine', '');
  L.push(`- ${machine.nproc} cores (nproc), CPU: ${machine.cpu}, RAM ${machine.memGiB} GiB; ${machine.kernel}`);
  L.push(`- node ${process.version}; ${machine.xz}; ${machine.tar}`);
  L.push(`- sinki doctor: xz engine \`${machine.engine}\`; lzma-native: ${machine.lzmaNative}`);
  const headNow = gitHead(ROOT);
  const moved = headNow !== machine.head ? `; HEAD moved to ${headNow} during the run (dist/ may have been rebuilt meanwhile)` : '';
  L.push(`- peak RSS via ${gnuTime() ? 'GNU time + /proc polling' : '/proc polling only (GNU time not installed)'}; sinki at ${machine.git}${moved}`);
  L.push('', '### Reproduce', '', '```sh', cmd, '```', '');
  L.push(
    '`--quick` = `--size 100M`; `--keep` keeps the work folder. Numbers move with machine load (note the',
    'load average above). `tar`/`xz` do not fsync their output, `sinki backup` fsyncs every pack.',
    '',
  );
  return L.join('\n');
}

/** The machine, the tools' versions and the xz engine sinki doctor reports. */
function benchMachine() {
  const xzv = spawnSync('xz', ['--version'], { encoding: 'utf8' }).stdout.trim().split('\n');
  let engine = '?';
  let lzmaNative = '?';
  const doc = spawnSync('node', [CLI, 'doctor', '--json'], { encoding: 'utf8' });
  try {
    for (const c of JSON.parse(doc.stdout)) {
      if (c.name === 'xz engine') engine = c.detail;
      if (c.name === 'lzma-native') lzmaNative = c.detail;
    }
  } catch {
    /* doctor output not JSON: leave '?' */
  }
  return {
    ...machineInfo(ROOT),
    xz: xzv.join(', '),
    tar: spawnSync('tar', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0],
    engine,
    lzmaNative,
  };
}

// ───────────────────────────── small helpers ─────────────────────────────

function cpu(s) {
  return s == null ? '?' : s.toFixed(1);
}
function mbsN(bytes, s) {
  return bytes / 1e6 / s;
}
function mbs(bytes, s) {
  return mbsN(bytes, s).toFixed(1);
}
