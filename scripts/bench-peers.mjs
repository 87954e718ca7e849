#!/usr/bin/env node
// bench-peers — sinki side by side with restic, Borg, gocryptfs and rclone crypt on one dataset.
//
//   npm run bench:peers [-- --quick]
//   scripts/bench-peers [--size 1G] [--quick] [--seed 42] [--rounds 3] [--only a,b] [--keep]
//                       [--workdir /var/tmp] [--out docs/BENCHMARKS.md | --out -] [--no-install]
//                       [--sinki worktree]
//
//   --size S     dataset size for scripts/gen-dataset.mjs (default 1G); --quick = --size 100M
//   --rounds N   rounds of the short measurements (medians are reported; default 3)
//   --only IDS   run only these tools (sinki,borg-lzma1,restic,gocryptfs,borg,restic-max,rclone);
//                such a run prints its tables but does not write the docs
//   --keep       keep the work folder (dataset, stores, restores)
//   --out FILE   markdown file whose "Side by side ..." section is rewritten (default
//                docs/BENCHMARKS.md; "-" = print only). Charts go to docs/charts/.
//   --no-install do not apt-get install missing tools
//   --sinki W    which sinki to measure: HEAD (default: the committed src/, built with tsc into the
//                work folder, so edits to src/ or dist/ during the run cannot change it) or
//                worktree (the working tree's src/, built the same way)
//
// Installs what is missing from Debian (restic, borgbackup, gocryptfs, rclone, fio, hyperfine,
// rsync, GNU time, python3-matplotlib), generates the deterministic dataset in a fresh folder on
// --workdir, and runs every tool on it in one run. Every measurement is done for every tool in one
// round before the next round starts, and the order of the tools rotates from round to round, so
// drift of a shared machine hits all of them alike. Figures per tool: first backup (time, MB/s,
// CPU, store size, peak RSS), no-change re-run, re-run after `gen-dataset --mutate 1` (time, bytes
// added), full restore, restore of one ~10 MiB file deep in the tree, sequential read through each
// tool's FUSE mount (cold and cached), write through the mounts that can write, and peak RSS.
// Everything mounted is unmounted and every process started is stopped, also on failure.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BENCH_OPTIONS, die as dieAs, parseOptions, runMain } from './lib/cli.mjs';
import { measure, sh, shq, warmPageCache } from './lib/measure.mjs';
import { toolList, fill, DATASET_NAME } from './lib/peers-tools.mjs';
import { MiB, fmtDuration, loadavg, machineInfo, median, mib as mibFixed } from './lib/report.mjs';
import { treeStats, compareTrees, walk } from './lib/tree-compare.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const GEN = path.join(ROOT, 'scripts/gen-dataset.mjs');
const CHARTS = path.join(ROOT, 'scripts/lib/peers-charts.py');
const SECTION = 'Side by side with restic, Borg, gocryptfs and rclone (npm run bench:peers)';
const PASSWORD = 'bench-peers-password';

const die = (msg) => dieAs('bench-peers', msg);
const { values: args } = parseOptions(
  'bench-peers',
  process.argv.slice(2),
  {
    ...BENCH_OPTIONS,
    rounds: { type: 'string' },
    only: { type: 'string' },
    sinki: { type: 'string' },
    'no-install': { type: 'boolean' },
  },
  { help: import.meta.url },
);
const sizeArg = args.size ?? (args.quick ? '100M' : '1G');
const seed = String(args.seed ?? 42);
const rounds = Math.max(1, Number(args.rounds ?? 3));
const sinkiFrom = args.sinki === 'worktree' ? 'worktree' : 'HEAD';
/** @typedef {ReturnType<typeof toolList>[number] & { store: string, archive?: string, archives: number }} Tool */
const allTools = /** @type {Tool[]} */ (toolList());
const only = args.only ? String(args.only).split(',') : null;
if (only) for (const id of only) if (!allTools.some((t) => t.id === id)) die(`unknown tool ${id}`);
const tools = only ? allTools.filter((t) => only.includes(t.id)) : allTools;
const outFile = args.out === '-' || only ? null : path.resolve(ROOT, args.out ?? 'docs/BENCHMARKS.md');

const t0 = Date.now();
const startedAt = new Date();
const log = (s) => process.stderr.write(`bench-peers: ${s}  (load ${loadavg()}, ${fmtDuration((Date.now() - t0) / 1000)})\n`);
const children = new Map(); // pid -> expected command name (to never kill a recycled pid)
const pidFiles = [];
const mounts = new Set();
let work = ''; // made by setUp
/** The mount-table parser of the sinki under test (dist/sys/mounts.js), loaded once it is built. */
/** @type {{ mountAt: (table: unknown, mnt: string) => unknown, readMountTableSync: () => unknown } | null} */
let mountTable = null;
let ok = false;

process.on('exit', () => {
  cleanup();
  if (work && args.keep) process.stderr.write(`bench-peers: work folder kept: ${work}\n`);
  else if (work) fs.rmSync(work, { recursive: true, force: true });
  if (!ok) process.stderr.write('bench-peers: FAILED\n');
});
ok = await runMain('bench-peers', main, { stack: true });
process.exit(); // runs the cleanup even if a stuck mount process still holds the event loop

// ───────────────────────────── setup ─────────────────────────────

function installPeers() {
  const want = [
    ['restic', 'restic'],
    ['borg', 'borgbackup'],
    ['gocryptfs', 'gocryptfs'],
    ['rclone', 'rclone'],
    ['fio', 'fio'],
    ['hyperfine', 'hyperfine'],
    ['rsync', 'rsync'],
    ['mountpoint', 'util-linux'],
  ];
  const missing = want.filter(([bin]) => spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0).map(([, pkg]) => pkg);
  if (spawnSync('/usr/bin/time', ['--version'], { encoding: 'utf8' }).status !== 0) missing.push('time');
  if (spawnSync('sh', ['-c', 'command -v fusermount']).status !== 0) missing.push('fuse3');
  if (spawnSync('/usr/bin/python3', ['-c', 'import matplotlib']).status !== 0) missing.push('python3-matplotlib');
  if (spawnSync('/usr/bin/python3', ['-c', 'import pyfuse3']).status !== 0 && spawnSync('/usr/bin/python3', ['-c', 'import llfuse']).status !== 0)
    missing.push('python3-pyfuse3'); // borg mount
  if (!missing.length) return;
  if (args['no-install']) die(`missing: ${missing.join(' ')} (apt-get install them, or drop --no-install)`);
  log(`installing from Debian: ${missing.join(' ')}`);
  sh('apt-get update -qq', { stdio: ['ignore', 'ignore', 'inherit'] });
  sh(`DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${missing.join(' ')}`, { stdio: ['ignore', 'ignore', 'inherit'] });
}

function buildSinki(dir) {
  fs.mkdirSync(dir, { recursive: true });
  let commit = sh('git rev-parse --short HEAD', { cwd: ROOT }).trim();
  if (sinkiFrom === 'HEAD') {
    sh(`git archive HEAD src tsconfig.json package.json | tar -x -C ${shq(dir)}`, { cwd: ROOT });
  } else {
    sh(`cp -a src tsconfig.json package.json ${shq(dir)}/`, { cwd: ROOT });
    if (sh('git status --porcelain src', { cwd: ROOT }).trim()) commit += ' + uncommitted src/ changes';
  }
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  fs.symlinkSync(path.join(ROOT, 'native-deps'), path.join(dir, 'native-deps'));
  sh(`${shq(path.join(ROOT, 'node_modules/.bin/tsc'))} -p ${shq(path.join(dir, 'tsconfig.json'))}`);
  const cli = path.join(dir, 'dist/cli/main.js');
  const doctor = spawnSync('node', [cli, 'doctor'], { encoding: 'utf8' });
  const engine = /xz engine: (.*)/.exec(doctor.stdout)?.[1]?.trim() ?? 'unknown';
  return { cli, commit, engine };
}

function versions() {
  const v = (line) => {
    const r = spawnSync('bash', ['-c', line], { encoding: 'utf8' });
    return `${r.stdout}${r.stderr}`.trim().split('\n')[0];
  };
  return {
    node: process.version,
    restic: v('restic version'),
    borg: v('borg --version'),
    gocryptfs: v('gocryptfs -version'),
    rclone: v('rclone version'),
    rsync: v('rsync --version'),
    fio: v('fio --version'),
    hyperfine: v('hyperfine --version'),
    matplotlib: v(`/usr/bin/python3 -c 'import matplotlib; print("matplotlib", matplotlib.__version__)'`),
    kernel: `${os.type()} ${os.release()}`,
  };
}

// ───────────────────────────── main ─────────────────────────────

/**
 * One run: set up (tools, work folder, sinki, dataset, stores), then every measurement phase for
 * every tool, then the report. Each phase appends to ctx.R[tool.id]; a tool that fails a phase is
 * noted in ctx.problems and left out of that phase's figures.
 */
async function main() {
  const ctx = await setUp();
  await firstBackups(ctx);
  await noChangeReruns(ctx);
  await changedReruns(ctx);
  pickReadTargets(ctx);
  await singleFileRestores(ctx);
  await fullRestores(ctx);
  await mountReads(ctx);
  await mountWrites(ctx);
  report(ctx);
}

/**
 * What the phases share. single, readSet and finalStats are set by pickReadTargets (after the re-runs).
 * @typedef {object} RunContext
 * @property {string} workdir
 * @property {string} loadBefore
 * @property {ReturnType<typeof benchMachine>} machine
 * @property {ReturnType<typeof buildSinki>} sinki
 * @property {ReturnType<typeof versions>} vers
 * @property {NodeJS.ProcessEnv} env
 * @property {string} pwFile
 * @property {string} src the dataset copy every tool backs up
 * @property {string} genOut
 * @property {ReturnType<typeof treeStats>} stats
 * @property {string} writeFile
 * @property {number} writeBytes
 * @property {Record<string, any>} R results by tool id
 * @property {Array<{ tool: string, phase: string, message: string }>} problems
 * @property {string[]} mutations
 * @property {ReturnType<typeof pickSingleFile> | null} single
 * @property {ReturnType<typeof pickReadSet> | null} readSet
 * @property {ReturnType<typeof treeStats> | null} finalStats
 * @property {number} restoreRounds
 */

/** The read targets, once pickReadTargets has run. */
function picked(ctx) {
  const { single, readSet, finalStats } = ctx;
  if (!single || !readSet || !finalStats) throw new Error('the single file and the read set are not picked yet');
  return { single, readSet, finalStats };
}

/**
 * Installs what is missing, makes the work folder, builds sinki, generates the dataset, inits every tool's store.
 * @returns {Promise<RunContext>}
 */
async function setUp() {
  if (process.getuid?.() !== 0) log('not root: installing, drop_caches and FUSE may fail');
  installPeers();
  const workdir = path.resolve(args.workdir ?? '/var/tmp');
  work = fs.mkdtempSync(path.join(workdir, 'sinki-bench-peers-'));
  const loadBefore = loadavg();
  const machine = benchMachine();
  log(`work folder ${work}; ${machine.nproc} cores (${machine.cpu}), load ${loadBefore}`);
  log(`building sinki (${sinkiFrom}) into the work folder`);
  const sinki = buildSinki(path.join(work, 'sinki'));
  await loadMountTable(sinki.cli);
  const vers = versions();

  const pwFile = path.join(work, 'password');
  fs.writeFileSync(pwFile, `${PASSWORD}\n`, { mode: 0o600 });
  const rcloneConf = path.join(work, 'rclone.conf');
  const env = {
    ...process.env,
    SINKI_PASSWORD: PASSWORD,
    RESTIC_PASSWORD: PASSWORD,
    RESTIC_CACHE_DIR: path.join(work, 'cache', 'restic'),
    BORG_PASSPHRASE: PASSWORD,
    BORG_BASE_DIR: path.join(work, 'cache', 'borg'),
    BORG_DISPLAY_PASSPHRASE: 'no',
    RCLONE_CONFIG: rcloneConf,
  };
  for (const k of ['SINKI_STORE', 'RESTIC_REPOSITORY', 'BORG_REPO', 'RESTIC_PASSWORD_FILE', 'RESTIC_COMPRESSION']) delete env[k];

  // dataset: generated once, then copied; the copy is what every tool backs up and what is mutated
  const pristine = path.join(work, 'generated');
  const src = path.join(work, DATASET_NAME);
  log(`generating the dataset (${sizeArg}, seed ${seed})`);
  const genOut = sh(`node ${shq(GEN)} ${shq(pristine)} --size ${shq(sizeArg)} --seed ${shq(seed)}`, { stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  sh(`cp -a ${shq(pristine)} ${shq(src)}`);
  const stats = treeStats(src);
  const writeFile = path.join(work, 'write-data.bin');
  const writeBytes = makeWriteFile(src, writeFile, stats.bytes < 512 * MiB ? 64 * MiB : 256 * MiB);
  log(`${stats.files} files, ${mib(stats.bytes)} MiB; write file ${mib(writeBytes)} MiB`);

  fs.writeFileSync(
    rcloneConf,
    `[enc]\ntype = crypt\nremote = ${path.join(work, 'store-rclone')}\npassword = ${sh(`rclone obscure ${shq(PASSWORD)}`).trim()}\n`,
    { mode: 0o600 },
  );

  /** @type {RunContext} */
  const ctx = {
    workdir,
    loadBefore,
    machine,
    sinki,
    vers,
    env,
    pwFile,
    src,
    genOut,
    stats,
    writeFile,
    writeBytes,
    R: {}, // results by tool id
    problems: [],
    mutations: [],
    single: null, // picked after the 1% changes, from the tree the latest snapshots hold
    readSet: null,
    finalStats: null,
    restoreRounds: 0,
  };
  for (const tool of tools) {
    tool.store = path.join(work, `store-${tool.id}`);
    if (tool.id !== 'sinki' && !tool.init.startsWith('restic') && !tool.init.startsWith('borg')) fs.mkdirSync(tool.store, { recursive: true });
    sh(fill(tool.init, vars(ctx, tool)), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    tool.archives = 0;
    ctx.R[tool.id] = {
      id: tool.id,
      label: tool.label,
      settings: tool.settings,
      kind: tool.kind,
      noChange: [],
      change: [],
      single: [],
      restore: [],
      mountRead: [],
      mountWrite: [],
    };
  }
  return ctx;
}

/** 1. First backup into each fresh store. */
async function firstBackups(ctx) {
  warmPageCache(ctx.src);
  for (const tool of tools) {
    log(`[${tool.id}] first backup`);
    const r = await guard(ctx, tool, 'first backup', () => backup(ctx, tool, tool.backup));
    if (r) ctx.R[tool.id].first = { ...r, mbps: ctx.stats.bytes / 1e6 / r.seconds };
  }
}

/** 2. Re-runs with nothing changed. */
async function noChangeReruns(ctx) {
  await inRounds(ctx, { phase: 'no-change re-run', key: 'noChange', rounds, offset: 0 }, (tool) => backup(ctx, tool, tool.rerun));
}

/** 3. Re-runs after changing 1% of the files (the copy is mutated further each round). */
async function changedReruns(ctx) {
  const beforeRound = () => {
    const m = sh(`node ${shq(GEN)} ${shq(ctx.src)} --mutate 1 --seed ${shq(seed)}`, { stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    ctx.mutations.push(m.replace(/^gen-dataset: /, ''));
    warmPageCache(ctx.src);
  };
  await inRounds(ctx, { phase: 're-run after 1% change', key: 'change', rounds, offset: 1, beforeRound }, (tool) => backup(ctx, tool, tool.rerun));
}

/** The single file and the mount read set, from the tree the latest snapshots hold. */
function pickReadTargets(ctx) {
  ctx.finalStats = treeStats(ctx.src);
  ctx.single = pickSingleFile(ctx.src);
  ctx.readSet = pickReadSet(ctx.src, ctx.finalStats.bytes);
  const { single, readSet } = picked(ctx);
  log(`single file ${single.rel} (${mib(single.size)} MiB, depth ${single.depth}); mount read set ${readSet.files.length} files, ${mib(readSet.bytes)} MiB`);
}

/** 4. Restore of the single file, checked with cmp. */
async function singleFileRestores(ctx) {
  const { single } = picked(ctx);
  await inRounds(ctx, { phase: 'single-file restore', key: 'single', rounds, offset: 2 }, async (tool) => {
    const T = freshDir(path.join(work, `restore-${tool.id}`));
    sh('sync');
    const m = await run(ctx, tool, tool.single, { T });
    sh(`cmp ${shq(path.join(ctx.src, single.rel))} ${shq(tool.singlePath(T, single.rel))}`);
    fs.rmSync(T, { recursive: true, force: true });
    return { seconds: m.seconds, cpu: m.cpuSeconds, rss: m.peakRss };
  });
}

/** 5. Full restore (verified the first time); one round only for a large dataset. */
async function fullRestores(ctx) {
  const { finalStats } = picked(ctx);
  ctx.restoreRounds = ctx.stats.bytes <= 256 * MiB ? rounds : 1;
  await inRounds(ctx, { phase: 'full restore', key: 'restore', rounds: ctx.restoreRounds, offset: 3 }, async (tool, round) => {
    const T = freshDir(path.join(work, `restore-${tool.id}`));
    sh('sync');
    const m = await run(ctx, tool, tool.restore, { T });
    const res = { seconds: m.seconds, cpu: m.cpuSeconds, rss: m.peakRss, mbps: finalStats.bytes / 1e6 / m.seconds };
    if (round === 0) res.verify = verifyRestore(ctx.src, tool.restoredRoot(T));
    fs.rmSync(T, { recursive: true, force: true });
    return res;
  });
}

/** 6. Sequential read through the mounts (fresh mount, page cache dropped: cold; then again: cached). */
async function mountReads(ctx) {
  await inRounds(ctx, { phase: 'mount read', key: 'mountRead', rounds, offset: 4, when: (tool) => tool.mountRead }, (tool, round) =>
    mountRead(ctx, tool, round === 0),
  );
}

/** 7. Sequential write of compressible data through the mounts that can write. */
async function mountWrites(ctx) {
  await inRounds(ctx, { phase: 'mount write', key: 'mountWrite', rounds, offset: 5, when: (tool) => tool.mountWrite }, (tool, round) =>
    mountWrite(ctx, tool, round),
  );
}

/** The results as JSON (in --workdir), a chart, the markdown section (printed, and written to --out). */
function report(ctx) {
  const { R, problems } = ctx;
  const { single, readSet, finalStats } = picked(ctx);
  const loadAfter = loadavg();
  const elapsed = (Date.now() - t0) / 1000;
  const result = {
    size: sizeArg,
    seed,
    rounds,
    restoreRounds: ctx.restoreRounds,
    startedAt: startedAt.toISOString(),
    elapsed,
    loadBefore: ctx.loadBefore,
    loadAfter,
    machine: ctx.machine,
    versions: ctx.vers,
    sinki: { commit: ctx.sinki.commit, engine: ctx.sinki.engine, from: sinkiFrom },
    dataset: {
      gen: ctx.genOut.replace(/^gen-dataset: /, '').replace(/ in \S+ \[/, ' ['),
      files: ctx.stats.files,
      bytes: ctx.stats.bytes,
      finalBytes: finalStats.bytes,
      mutations: ctx.mutations,
    },
    single,
    readSet: { count: readSet.files.length, bytes: readSet.bytes },
    writeBytes: ctx.writeBytes,
    tools: tools.map((t) => summarize(R[t.id])),
    commands: tools.map((t) => ({
      id: t.id,
      label: t.label,
      ...Object.fromEntries(['init', 'backup', 'rerun', 'restore', 'single'].map((k) => [k, fill(t[k], {}, { forDocs: true })])),
      mountRead: t.mountRead ? fill(t.mountRead.start, {}, { forDocs: true }) : null,
      mountWrite: t.mountWrite ? fill(t.mountWrite.start, {}, { forDocs: true }) : null,
    })),
    problems,
  };
  result.targets = targets(result);
  const jsonPath = path.join(ctx.workdir, `sinki-bench-peers-${sizeArg}.json`);
  fs.writeFileSync(jsonPath, JSON.stringify(result, null, 2));
  const chartRel = `charts/bench-peers-${sizeArg}.png`;
  if (outFile) {
    const chart = path.join(path.dirname(outFile), chartRel);
    fs.mkdirSync(path.dirname(chart), { recursive: true });
    const c = spawnSync('/usr/bin/python3', [CHARTS, jsonPath, chart], { encoding: 'utf8', env: { ...process.env, MPLBACKEND: 'Agg' } });
    if (c.status !== 0) problems.push({ tool: '-', phase: 'chart', message: (c.stderr || '').trim().split('\n').slice(-3).join(' | ') });
  }
  const md = render(result, outFile ? chartRel : null);
  process.stdout.write(`\n${md}\n`);
  process.stdout.write(`\nREADME line: ${readmeLine(result)}\n`);
  if (outFile) {
    writeSection(outFile, sizeArg, md);
    log(`wrote section "${SECTION}" (${sizeArg}) of ${path.relative(process.cwd(), outFile) || outFile}; raw results ${jsonPath}`);
  } else log(`raw results ${jsonPath}`);
  log(`done in ${fmtDuration(elapsed)}`);
}

// ───────────────────────────── running the tools ─────────────────────────────

/**
 * `rounds` rounds of one phase: each round every tool that has a first backup (and, with `when`,
 * the thing the phase needs), in the order rotated by round + offset; results go to R[tool.id][key].
 * @param {RunContext} ctx
 * @param {{ phase: string, key: string, rounds: number, offset: number, when?: (tool: Tool) => unknown, beforeRound?: (round: number) => void }} how
 * @param {(tool: Tool, round: number) => Promise<unknown>} fn
 */
async function inRounds(ctx, { phase, key, rounds: n, offset, when = () => true, beforeRound = () => {} }, fn) {
  for (let round = 0; round < n; round++) {
    beforeRound(round);
    for (const tool of order(round + offset)) {
      if (!ctx.R[tool.id].first || !when(tool)) continue;
      log(`[${tool.id}] ${phase} ${round + 1}/${n}`);
      const r = await guard(ctx, tool, phase, () => fn(tool, round));
      if (r) ctx.R[tool.id][key].push(r);
    }
  }
}

/** The tools in the order of round r (rotated, so drift hits all alike). */
function order(r) {
  return tools.map((_, i) => tools[(i + r) % tools.length]);
}

/** The values of a tool's template tokens. */
function vars(ctx, tool, extra = {}) {
  return {
    SINKI: ctx.sinki.cli,
    SRC: ctx.src,
    STORE: tool.store,
    PWFILE: ctx.pwFile,
    ARCHIVE: tool.archive ?? 'none',
    REL: ctx.single?.rel ?? 'none',
    PIDFILE: path.join(work, `pid-${tool.id}`),
    MNT: path.join(work, `mnt-${tool.id}`),
    CACHE: path.join(work, 'cache', `rclone-vfs-${tool.id}`),
    ...extra,
  };
}

/** Runs one template of a tool, measured; a failure throws (rclone's too-long names are a noted problem instead). */
async function run(ctx, tool, template, extra = {}, opts = {}) {
  const v = vars(ctx, tool, extra);
  fs.mkdirSync(v.MNT, { recursive: true });
  if (template.includes('{PIDFILE}')) {
    pidFiles.push(v.PIDFILE);
    mounts.add(v.MNT);
  }
  const r = await measure('bash', ['-e', '-o', 'pipefail', '-c', fill(template, v)], { env: ctx.env, cwd: work, allowFail: true, ...opts });
  if (r.code !== 0) {
    // rclone crypt: an encrypted name longer than the backing filesystem allows fails that file only
    const errors = r.stderr
      .split('\n')
      .filter((l) => /\bERROR\b/.test(l) && !/Attempt \d+\/\d+ failed|not deleting|Failed to (copy|sync) with \d+ errors/.test(l));
    if (tool.id === 'rclone' && errors.length && errors.every((l) => /file name too long/i.test(l))) {
      const names = /** @type {string[]} */ (errors.map((l) => /ERROR : (.*?): /.exec(l)?.[1]).filter(Boolean));
      const note = `${names.length} file(s) not copied: the encrypted name is too long for the backing filesystem (${[...new Set(names)].map((n) => (n.length > 40 ? `${n.slice(0, 20)}…${n.slice(-12)} (${n.length} chars)` : n)).join(', ')}); rclone exits 1, the run goes on`;
      if (!ctx.problems.some((p) => p.message === note)) ctx.problems.push({ tool: tool.id, phase: 'all copies', message: note });
    } else {
      const tail = r.stderr.trim().split('\n').slice(-6).join(' | ');
      throw new Error(`exit ${r.code}: ${fill(template, v).split('\n').slice(-2).join('; ').slice(0, 200)} | ${tail}`);
    }
  }
  return r;
}

/** fn's result, or null after a failure, which is logged, noted in ctx.problems, and cleaned up after. */
async function guard(ctx, tool, phase, fn) {
  try {
    return await fn();
  } catch (err) {
    const lines = String(err.message).split('\n').filter(Boolean);
    const msg = [lines[0].slice(0, 240), ...lines.slice(1).slice(-5)].join(' | ');
    log(`[${tool.id}] ${phase} FAILED: ${msg}`);
    ctx.problems.push({ tool: tool.id, phase, message: msg.slice(0, 600) });
    await stopAfterFailure(tool, vars(ctx, tool));
    return null;
  }
}

function storeSize(tool) {
  return Number(sh(`du -sb ${shq(tool.store)}`).split('\t')[0]);
}

function nextArchive(tool) {
  tool.archives += 1;
  tool.archive = `run-${tool.archives}`;
  return tool.archive;
}

/** One backup (or copy) with a template; what it took and how much the store grew. */
async function backup(ctx, tool, template) {
  const before = storeSize(tool);
  if (tool.id.startsWith('borg')) nextArchive(tool);
  sh('sync');
  const r = await run(ctx, tool, template);
  const after = storeSize(tool);
  return { seconds: r.seconds, cpu: r.cpuSeconds, rss: r.peakRss, added: after - before, store: after };
}

async function startMount(ctx, tool, spec) {
  const v = vars(ctx, tool);
  fs.mkdirSync(v.MNT, { recursive: true });
  if (spec.start.includes('rclone')) fs.rmSync(v.CACHE, { recursive: true, force: true });
  const line = fill(spec.start, v);
  const argv = ['bash', '-c', `exec ${line}`];
  const started = performance.now();
  const child = spawn(argv[0], argv.slice(1), { env: ctx.env, cwd: work, stdio: ['ignore', 'ignore', 'pipe'] });
  const stderr = [];
  child.stderr.on('data', (b) => stderr.push(b));
  /** @type {number | string | null} */
  let exited = null;
  child.on('exit', (c, s) => (exited = s ?? c));
  children.set(child.pid, { name: spec.start.split(' ')[0], mnt: v.MNT, exited: () => exited !== null });
  mounts.add(v.MNT);
  const root = spec.root(v.MNT);
  const probe = spec.probe ?? (spec === tool.mountRead ? path.join(root, picked(ctx).readSet.files[0].rel) : root);
  for (;;) {
    if (exited !== null) throw new Error(`mount exited (${exited}): ${Buffer.concat(stderr).toString().trim().slice(-400)}`);
    if (isMounted(v.MNT) && fs.existsSync(probe)) break;
    if (performance.now() - started > 300_000) throw new Error('mount not up after 300 s');
    await sleep(50);
  }
  return {
    child,
    mnt: v.MNT,
    root,
    upSeconds: (performance.now() - started) / 1000,
    exitedP: new Promise((res) => (exited !== null ? res(undefined) : child.on('exit', res))),
    stderr,
  };
}

async function stopMount(ctx, tool, spec, m) {
  if (spec.stop === 'fusermount') sh(`fusermount -u ${shq(m.mnt)}`);
  else sh(fill(spec.stop, vars(ctx, tool)), { env: ctx.env });
  const timeout = sleep(120_000).then(() => 'timeout');
  if ((await Promise.race([m.exitedP, timeout])) === 'timeout') throw new Error('mount process did not exit within 120 s of the unmount');
  children.delete(m.child.pid);
  mounts.delete(m.mnt);
}

async function mountRead(ctx, tool, verify) {
  const { readSet } = picked(ctx);
  const m = await startMount(ctx, tool, tool.mountRead);
  try {
    const files = readSet.files.map((f) => shq(path.join(m.root, f.rel))).join(' ');
    sh('sync; echo 3 > /proc/sys/vm/drop_caches');
    const cold = await measure('bash', ['-c', `cat ${files} > /dev/null`]);
    const cached = await measure('bash', ['-c', `cat ${files} > /dev/null`]);
    if (verify) {
      const sum = (root) => sh(`cat ${readSet.files.map((f) => shq(path.join(root, f.rel))).join(' ')} | sha256sum`).split(' ')[0];
      if (sum(m.root) !== sum(ctx.src)) throw new Error('the mount returned different bytes than the dataset holds');
    }
    const rss = vmHwm(m.child.pid);
    await stopMount(ctx, tool, tool.mountRead, m);
    return { up: m.upSeconds, cold: readSet.bytes / 1e6 / cold.seconds, cached: readSet.bytes / 1e6 / cached.seconds, rss };
  } catch (err) {
    throw new Error(`${err.message}${m.stderr.length ? ` | mount said: ${Buffer.concat(m.stderr).toString().trim().slice(-300)}` : ''}`);
  }
}

async function mountWrite(ctx, tool, round) {
  const { writeBytes, writeFile } = ctx;
  const spec = tool.mountWrite;
  const m = await startMount(ctx, tool, spec);
  const name = `bench-write-${round}.bin`;
  const target = path.join(m.root, name);
  // rclone: the file lands in the backing folder's top level under a new (encrypted) name
  const before = new Set(spec.asyncUpload ? fs.readdirSync(tool.store) : []);
  // each round writes different bytes (the data shifted by a round-specific odd offset), so no
  // round can deduplicate against an earlier round's chunks still in the store
  const input = path.join(work, `write-data-${round}.bin`);
  const shift = 4099 * round + 17;
  sh(
    `{ head -c ${shift} /dev/zero | tr '\\0' '${String.fromCharCode(65 + (round % 26))}'; head -c ${writeBytes - shift} ${shq(writeFile)}; } > ${shq(input)}; sync`,
  );
  const dd = await measure('dd', [`if=${input}`, `of=${target}`, 'bs=1M', 'conv=fsync', 'status=none']);
  let durable = dd.seconds;
  if (spec.asyncUpload) {
    // rclone uploads after close: wait until the crypt file in the backing folder has its full size
    // (polled every 20 ms)
    const want = 32 + writeBytes + 16 * Math.ceil(writeBytes / 65536);
    const tw = performance.now();
    for (;;) {
      const landed = fs.readdirSync(tool.store).some((n) => {
        if (before.has(n)) return false;
        try {
          return fs.statSync(path.join(tool.store, n)).size === want;
        } catch {
          return false;
        }
      });
      if (landed) break;
      if (performance.now() - tw > 600_000) throw new Error('rclone did not upload the written file within 600 s');
      await sleep(20);
    }
    durable += (performance.now() - tw) / 1000;
  }
  const rss = vmHwm(m.child.pid);
  sh(`cmp ${shq(input)} ${shq(target)}`);
  fs.rmSync(target);
  fs.rmSync(input);
  await stopMount(ctx, tool, spec, m);
  return { up: m.upSeconds, fsync: writeBytes / 1e6 / dd.seconds, durable: writeBytes / 1e6 / durable, rss };
}

// ───────────────────────────── dataset helpers ─────────────────────────────

/** A ~10 MiB file as deep in the tree as there is one (5–20 MiB, deepest, then closest to 10 MiB). */
function pickSingleFile(root) {
  const files = regularFiles(root).map((e) => ({ ...e, depth: e.rel.split('/').length }));
  const near = (a, b) => Math.abs(a.size - 10 * MiB) - Math.abs(b.size - 10 * MiB);
  const band = files.filter((f) => f.size >= 5 * MiB && f.size <= 20 * MiB && /^[\w./-]+$/.test(f.rel));
  const pick = band.length ? band.sort((a, b) => b.depth - a.depth || near(a, b))[0] : files.sort(near)[0];
  return pick;
}

/** The largest files until they add up to a quarter of the dataset (64–256 MiB): read in sequence through each mount. */
function pickReadSet(root, total) {
  const want = Math.min(256 * MiB, Math.max(64 * MiB, total / 4));
  const files = regularFiles(root)
    .filter((e) => /^[\w./ -]+$/.test(e.rel) && e.rel.split('/').every((c) => c.length <= 100)) // names every peer can store
    .sort((a, b) => b.size - a.size || (a.rel < b.rel ? -1 : 1));
  const set = [];
  let bytes = 0;
  for (const f of files) {
    if (bytes >= want) break;
    set.push({ rel: f.rel, size: f.size });
    bytes += f.size;
  }
  return { files: set, bytes };
}

/** Compressible data for the mount write test: the dataset's source, prose and data files, concatenated (deterministic). */
function makeWriteFile(root, file, bytes) {
  const parts = regularFiles(root)
    .filter((e) => /^(src|docs|data)\//.test(e.rel) && e.size > 0)
    .sort((a, b) => (a.rel < b.rel ? -1 : 1));
  if (!parts.length) die('dataset has no src/ docs/ data/ files for the write test');
  const have = parts.reduce((a, p) => a + p.size, 0);
  bytes = Math.max(MiB, Math.min(bytes, Math.floor(have / MiB) * MiB));
  const fd = fs.openSync(file, 'w');
  let done = 0;
  while (done < bytes) {
    for (const p of parts) {
      const buf = fs.readFileSync(path.join(root, p.rel));
      const n = Math.min(buf.length, bytes - done);
      fs.writeSync(fd, buf, 0, n);
      done += n;
      if (done >= bytes) break;
    }
  }
  fs.closeSync(fd);
  return bytes;
}

function verifyRestore(a, b) {
  const d = spawnSync('diff', ['-r', '-q', '--no-dereference', a, b], { encoding: 'utf8', maxBuffer: 64 * MiB });
  const diffLines = `${d.stdout}`.trim().split('\n').filter(Boolean);
  /** @type {number | null} */
  let meta = null;
  try {
    const c = compareTrees(a, b, { mtimeSlackMs: 1000 });
    meta = c.errors.length;
  } catch {
    /* tree missing: diff already says so */
  }
  return { identical: d.status === 0, diffs: diffLines.length, firstDiff: diffLines[0] ?? null, metaDiffs: meta };
}

/** Regular files below root as { rel, size }. */
function regularFiles(root) {
  const out = [];
  for (const [rel, st] of walk(root)) if (st.isFile()) out.push({ rel, size: st.size });
  return out;
}

function freshDir(d) {
  fs.rmSync(d, { recursive: true, force: true });
  fs.mkdirSync(d, { recursive: true });
  return d;
}

// ───────────────────────────── processes and mounts ─────────────────────────────

async function loadMountTable(cli) {
  mountTable = await import(pathToFileURL(path.join(path.dirname(cli), '../sys/mounts.js')).href);
}

function isMounted(mnt) {
  return mountTable !== null && mountTable.mountAt(mountTable.readMountTableSync(), mnt) !== undefined;
}

function vmHwm(pid) {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

function alive(pid, name) {
  try {
    const comm = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return comm.some((c) => path.basename(c) === name || c.includes(name));
  } catch {
    return false;
  }
}

/** After a failed step: unmount MNT (the tool's own way, else lazily) and stop the mount process we started for it. */
async function stopAfterFailure(tool, v) {
  const mnt = v.MNT;
  if (mounts.has(mnt) && isMounted(mnt)) {
    const own =
      tool.id === 'sinki'
        ? spawnSync('bash', ['-c', fill(tool.mountRead.stop, v)], { timeout: 60_000 })
        : spawnSync('fusermount', ['-u', mnt], { timeout: 60_000 });
    if (own.status !== 0 || isMounted(mnt)) spawnSync('fusermount', ['-uz', mnt]);
  }
  for (const [pid, c] of children) {
    if (c.mnt !== mnt) continue;
    for (let i = 0; i < 100 && !c.exited(); i++) await sleep(100);
    if (!c.exited() && alive(pid, c.name)) process.kill(pid, 'SIGTERM');
    children.delete(pid);
  }
}

function cleanup() {
  for (const mnt of mounts) {
    try {
      if (isMounted(mnt)) {
        if (spawnSync('fusermount', ['-u', mnt]).status !== 0) spawnSync('fusermount', ['-uz', mnt]);
      }
    } catch {
      /* best effort */
    }
  }
  for (const [pid, c] of children)
    if (alive(pid, c.name))
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* gone */
      }
  for (const f of pidFiles) {
    try {
      const pid = Number(fs.readFileSync(f, 'utf8').trim());
      if (pid && alive(pid, 'gocryptfs')) process.kill(pid, 'SIGTERM');
    } catch {
      /* never started */
    }
  }
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

// ───────────────────────────── numbers ─────────────────────────────

function stat(list, key) {
  const v = list.map((x) => x[key]).filter((x) => x !== null && x !== undefined);
  if (!v.length) return null;
  return { median: median(v), min: Math.min(...v), max: Math.max(...v), n: v.length };
}

function summarize(r) {
  return {
    id: r.id,
    label: r.label,
    settings: r.settings,
    kind: r.kind,
    first: r.first ?? null,
    noChange: { seconds: stat(r.noChange, 'seconds'), cpu: stat(r.noChange, 'cpu'), added: stat(r.noChange, 'added'), rss: stat(r.noChange, 'rss') },
    change: { seconds: stat(r.change, 'seconds'), cpu: stat(r.change, 'cpu'), added: stat(r.change, 'added'), rss: stat(r.change, 'rss') },
    single: { seconds: stat(r.single, 'seconds'), cpu: stat(r.single, 'cpu'), rss: stat(r.single, 'rss') },
    restore: {
      seconds: stat(r.restore, 'seconds'),
      mbps: stat(r.restore, 'mbps'),
      cpu: stat(r.restore, 'cpu'),
      rss: stat(r.restore, 'rss'),
      verify: r.restore[0]?.verify ?? null,
    },
    mountRead: r.mountRead.length
      ? { up: stat(r.mountRead, 'up'), cold: stat(r.mountRead, 'cold'), cached: stat(r.mountRead, 'cached'), rss: stat(r.mountRead, 'rss') }
      : null,
    mountWrite: r.mountWrite.length
      ? { up: stat(r.mountWrite, 'up'), fsync: stat(r.mountWrite, 'fsync'), durable: stat(r.mountWrite, 'durable'), rss: stat(r.mountWrite, 'rss') }
      : null,
    raw: { noChange: r.noChange, change: r.change, single: r.single, restore: r.restore, mountRead: r.mountRead, mountWrite: r.mountWrite },
  };
}

function targets(res) {
  const T = Object.fromEntries(res.tools.map((t) => [t.id, t]));
  const s = T.sinki;
  const out = [];
  /** @type {(name: string, ratio: number | null, meets: (ratio: number) => boolean, detail: string, cpuRatio?: number | null) => void} */
  const add = (name, ratio, meets, detail, cpuRatio = null) => out.push({ name, ratio, met: ratio === null ? null : meets(ratio), detail, cpuRatio });
  const b = T['borg-lzma1'];
  const r = T.restic;
  const g = T.gocryptfs;
  const rc = T.rclone;
  const m = (x) => x?.median ?? null;
  const div = (a, c) => (a !== null && c !== null && a !== undefined && c !== undefined && c !== 0 ? a / c : null);
  const sb = div(s?.first?.mbps, b?.first?.mbps);
  add('backup MB/s ≥ 1.5× Borg (lzma,1)', sb, (x) => x >= 1.5, `${f1(s?.first?.mbps)} vs ${f1(b?.first?.mbps)} MB/s`, div(b?.first?.cpu, s?.first?.cpu));
  const ss = div(s?.first?.store, b?.first?.store);
  add('store size ≤ Borg (lzma,1)', ss, (x) => x <= 1, `${mib(s?.first?.store)} vs ${mib(b?.first?.store)} MiB`);
  const nc = div(m(s?.noChange.seconds), m(r?.noChange.seconds));
  add(
    'no-change re-run ≤ restic',
    nc,
    (x) => x <= 1,
    `${f2(m(s?.noChange.seconds))} vs ${f2(m(r?.noChange.seconds))} s`,
    div(m(s?.noChange.cpu), m(r?.noChange.cpu)),
  );
  const ch = div(m(s?.change.seconds), m(r?.change.seconds));
  add(
    're-run after 1% change ≤ restic',
    ch,
    (x) => x <= 1,
    `${f2(m(s?.change.seconds))} vs ${f2(m(r?.change.seconds))} s`,
    div(m(s?.change.cpu), m(r?.change.cpu)),
  );
  const sf = div(m(s?.single.seconds), m(r?.single.seconds));
  add(
    'single-file restore ≤ restic',
    sf,
    (x) => x <= 1,
    `${f2(m(s?.single.seconds))} vs ${f2(m(r?.single.seconds))} s`,
    div(m(s?.single.cpu), m(r?.single.cpu)),
  );
  const mr = div(m(s?.mountRead?.cached), m(g?.mountRead?.cached));
  add('mount cached sequential read ≥ 0.5× gocryptfs', mr, (x) => x >= 0.5, `${f1(m(s?.mountRead?.cached))} vs ${f1(m(g?.mountRead?.cached))} MB/s`);
  const mw = div(m(s?.mountWrite?.durable), m(rc?.mountWrite?.durable));
  add(
    'mount write ≥ rclone crypt mount (writes), compressible data',
    mw,
    (x) => x >= 1,
    `${f1(m(s?.mountWrite?.durable))} vs ${f1(m(rc?.mountWrite?.durable))} MB/s (until durable)`,
  );
  return out;
}

// ───────────────────────────── markdown ─────────────────────────────

function intro() {
  return `## ${SECTION}

\`scripts/bench-peers\` runs sinki and its peers on one \`scripts/gen-dataset.mjs\` dataset in one run. Every
measurement is taken for every tool in one round before the next round starts, and the order of the tools
rotates from round to round, so drift on this shared 2-core machine hits all of them alike. Short
measurements (re-runs, single-file restores, mounts) are the **median of 3 rounds**, shown as median
(min–max); the first backup runs once per tool (a fresh store), full restores once (1G) or 3× (100M). Before
each backup or restore: \`sync\`; the dataset is in the page cache. MB = 10^6 bytes; backup MB/s = dataset
bytes / wall time. CPU s = user + system of the command and its children (GNU time). Peak RSS = measure.mjs
(GNU time \`%M\` and polled \`/proc\` VmHWM/tree RSS; for gocryptfs as a copy target: the mount daemon and
\`cp\`/\`rsync\` together), for mounts the VmHWM of the mount process.

- The dataset is generated, then copied with \`cp -a\`; every tool backs up the copy, at the same path.
  "1% change": \`gen-dataset --mutate 1\` on the copy (≈1% of files overwritten, appended, inserted into or
  touched, a few added and deleted), then every tool re-runs; a new mutation each round. Bytes added = growth
  of \`du -sb\` of the store.
- restic and Borg keep snapshots; gocryptfs and rclone crypt are copy-into-an-encrypted-folder tools without
  history: backup = \`cp -a\` into the gocryptfs mount / \`rclone copy\` to the crypt remote, re-runs =
  \`rsync -a --delete\` / \`rclone sync\` (only changed files travel), restore = copy out. The gocryptfs
  timings include mounting and unmounting (scrypt).
- Single-file restore: one ~10 MiB file as deep in the tree as the dataset has one, from the latest
  snapshot (after all re-runs), each tool's own way (\`--include\`, \`borg extract PATH\`, \`rclone copyto\`,
  \`cp\` out of the mount), checked with \`cmp\`.
- Mount read: a fresh mount of the latest snapshot (restic: \`snapshots/latest\`, Borg: the last archive,
  sinki: \`--snapshot latest --read-only\`, rclone: \`--vfs-cache-mode full\` with an empty cache), kernel page
  cache dropped, then \`cat\` of the dataset's largest files (cold), then the same again (cached), checked
  with \`cmp\`. Mount write: \`dd bs=1M conv=fsync\` of compressible data (the dataset's source, prose and
  data files concatenated, shifted by a different odd offset each round so that no round deduplicates
  against an earlier one) into a fresh read-write mount; "durable" = until the data is in the tool's
  backing folder (for rclone, which uploads after close: until the crypt file there has its full size;
  for the others \`fsync\` returning).
- Passwords come from the environment or a file (\`SINKI_PASSWORD\`, \`RESTIC_PASSWORD\`,
  \`BORG_PASSPHRASE\`, \`gocryptfs -extpass 'cat FILE'\`, \`rclone obscure\` in the config). restic and Borg
  keep their caches (\`RESTIC_CACHE_DIR\`, \`BORG_BASE_DIR\`) in the work folder, warm after the first backup,
  as on a machine that backs up regularly. sinki is built from the committed \`src/\` into the work folder at
  the start, so edits during the run do not change what is measured.
`;
}

function render(res, chartRel) {
  const T = res.tools;
  const dash = (x) => (x === null || x === undefined ? '–' : x);
  const med = (s, f = f2) => (s ? (s.n > 1 ? `${f(s.median)} (${f(s.min)}–${f(s.max)})` : f(s.median)) : '–');
  const L = [];
  L.push(`### Results: ${res.size} dataset, seed ${res.seed}`);
  L.push('');
  L.push(
    `Run ${res.startedAt.replace(/\.\d+Z$/, 'Z')}, took ${fmtDuration(res.elapsed)}; load average (1/5/15 min) ${res.loadBefore} before, ${res.loadAfter} after, on ${res.machine.nproc} cores (${res.machine.cpu}), RAM ${res.machine.ramGiB} GiB. ` +
      `Dataset: ${res.dataset.gen}. Single file: \`${res.single.rel}\` (${mib(res.single.size)} MiB, depth ${res.single.depth}). ` +
      `Mount read: ${res.readSet.count} largest files, ${mib(res.readSet.bytes)} MiB; mount write: ${mib(res.writeBytes)} MiB.`,
  );
  L.push('');
  if (chartRel) {
    L.push(`![bench-peers ${res.size}: backup MB/s, store size, re-runs, restores, mounts, peak RSS](${chartRel})`);
    L.push('');
  }
  L.push('First backup into a fresh store, and re-runs:');
  L.push('');
  L.push(
    '| tool | first backup s | MB/s | CPU s | store MiB | store / data | peak RSS MiB | no-change re-run s | CPU s | re-run after 1% change s | CPU s | 1% change: MiB added |',
  );
  L.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const t of T) {
    const f = t.first;
    L.push(
      `| ${t.label} | ${f ? f2(f.seconds) : '–'} | ${f ? f1(f.mbps) : '–'} | ${f?.cpu != null ? f1(f.cpu) : '–'} | ${f ? f1(f.store / MiB) : '–'} | ${f ? (f.store / res.dataset.bytes).toFixed(3) : '–'} | ${f ? mib(f.rss) : '–'} | ${med(t.noChange.seconds)} | ${t.noChange.cpu ? f2(t.noChange.cpu.median) : '–'} | ${med(t.change.seconds)} | ${t.change.cpu ? f2(t.change.cpu.median) : '–'} | ${med(t.change.added, (x) => f1(x / MiB))} |`,
    );
  }
  L.push('');
  L.push('Restores (from the latest snapshot, after the re-runs):');
  L.push('');
  L.push('| tool | full restore s | MB/s | CPU s | peak RSS MiB | identical contents (diff -r) | metadata diffs | single-file restore s | CPU s |');
  L.push('|---|---:|---:|---:|---:|---|---:|---:|---:|');
  for (const t of T) {
    const r = t.restore;
    const v = r.verify;
    L.push(
      `| ${t.label} | ${med(r.seconds)} | ${r.mbps ? f1(r.mbps.median) : '–'} | ${r.cpu ? f1(r.cpu.median) : '–'} | ${r.rss ? mib(r.rss.max) : '–'} | ${
        v
          ? v.identical
            ? 'yes'
            : `**no** (${v.diffs}: ${String(v.firstDiff)
                .replace(/\|/g, '\\|')
                .replace(new RegExp(`${escapeRe('/var/tmp/')}\\S+?/`, 'g'), '…/')
                .slice(0, 80)})`
          : '–'
      } | ${v ? dash(v.metaDiffs) : '–'} | ${med(t.single.seconds)} | ${t.single.cpu ? f2(t.single.cpu.median) : '–'} |`,
    );
  }
  L.push('');
  L.push('FUSE mounts (MB/s; "–" = the tool has no such mount):');
  L.push('');
  L.push(
    '| tool | mount up s | read cold MB/s | read cached MB/s | read: mount RSS MiB | write MB/s (dd returns) | write MB/s (durable) | write: mount RSS MiB |',
  );
  L.push('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const t of T) {
    const r = t.mountRead;
    const w = t.mountWrite;
    if (!r && !w) continue;
    L.push(
      `| ${t.label} | ${med(r?.up ?? w?.up)} | ${med(r?.cold, f1)} | ${med(r?.cached, f1)} | ${r?.rss ? mib(r.rss.max) : '–'} | ${med(w?.fsync, f1)} | ${med(w?.durable, f1)} | ${w?.rss ? mib(w.rss.max) : '–'} |`,
    );
  }
  L.push('');
  L.push(
    "Against the targets (wall-time ratio = sinki / peer for times and sizes, sinki's MB/s / peer's for rates; on a loaded machine the CPU-time ratio is the steadier one, oriented the same way):",
  );
  L.push('');
  L.push('| target | measured | ratio | CPU-time ratio | |');
  L.push('|---|---|---:|---:|---|');
  for (const g of res.targets)
    L.push(
      `| ${g.name} | ${g.detail} | ${g.ratio === null ? '–' : `${g.ratio.toFixed(2)}×`} | ${g.cpuRatio === null || g.cpuRatio === undefined ? '–' : `${g.cpuRatio.toFixed(2)}×`} | ${g.met === null ? 'n/a' : g.met ? 'met' : '**missed**'} |`,
    );
  L.push('');
  L.push(`README line: ${readmeLine(res)}`);
  L.push('');
  if (res.problems.length) {
    L.push('Problems in this run:');
    L.push('');
    for (const p of res.problems) L.push(`- ${p.tool}, ${p.phase}: ${p.message.replace(new RegExp(`${escapeRe('/var/tmp/')}\\S+?/`, 'g'), '…/')}`);
    L.push('');
  }
  L.push('Settings:');
  L.push('');
  for (const t of T) L.push(`- **${t.label}**: ${t.settings}`);
  L.push('');
  L.push(
    'Versions: ' +
      Object.entries(res.versions)
        .map(([k, v]) => `${k} \`${v}\``)
        .join('; ') +
      `; sinki ${res.sinki.commit} (${res.sinki.from}), xz engine \`${res.sinki.engine}\`.`,
  );
  L.push('');
  L.push(`1% mutations: ${res.dataset.mutations.map((m) => m.replace(/ \[.*$/, '')).join('; ')}.`);
  L.push('');
  L.push(
    "Commands (`$SRC` the dataset copy, `$STORE` the tool's store, `$T` an empty restore folder, `$REL` the single file, `$MNT` a mountpoint, `$ARCHIVE` the last Borg archive, `enc:` the rclone crypt remote):",
  );
  L.push('');
  L.push('| tool | init | backup / re-run | restore | single file | mount (read; write) |');
  L.push('|---|---|---|---|---|---|');
  const code = (s) => (s ? `\`${s.replace(/\n/g, '; ').replace(/\|/g, '\\|')}\`` : '–');
  for (const c of res.commands) {
    const gc = c.id === 'gocryptfs';
    const inner = (s) => (gc ? s.split('\n')[2] : s); // gocryptfs: the copy command; mounting around it is the mount command
    L.push(
      `| ${c.label} | ${code(c.init)} | ${code(inner(c.backup))}${c.rerun !== c.backup ? `; ${code(inner(c.rerun))}` : ''} | ${code(inner(c.restore))} | ${code(inner(c.single))} | ${code(c.mountRead)}${c.mountWrite && c.mountWrite !== c.mountRead ? `; ${code(c.mountWrite)}` : ''} |`,
    );
  }
  L.push('');
  L.push(
    `Reproduce: \`npx tsc -p tsconfig.json && npm run bench:peers${res.size === '100M' ? ' -- --quick' : res.size === '1G' ? '' : ` -- --size ${res.size}`}\` (as root; installs missing peers with apt-get).`,
  );
  return L.join('\n');
}

function readmeLine(res) {
  const T = Object.fromEntries(res.tools.map((t) => [t.id, t]));
  const s = T.sinki;
  const x = (a, b) => (a && b ? `${(a / b).toFixed(1)}×` : '?');
  const m = (v) => v?.median ?? null;
  return (
    `On a ${res.size} mixed dataset (2 cores, shared), sinki backs up at ${f1(s?.first?.mbps)} MB/s (${x(s?.first?.mbps, T['borg-lzma1']?.first?.mbps)} Borg lzma,1; ${x(s?.first?.mbps, T.restic?.first?.mbps)} restic) ` +
    `into a store ${x(s?.first?.store, T['borg-lzma1']?.first?.store)} the size of Borg's, re-runs with no change in ${f2(m(s?.noChange.seconds))} s (restic ${f2(m(T.restic?.noChange.seconds))} s), ` +
    `restores one file in ${f2(m(s?.single.seconds))} s (restic ${f2(m(T.restic?.single.seconds))} s) and reads its mount at ${f1(m(s?.mountRead?.cached))} MB/s cached (gocryptfs ${f1(m(T.gocryptfs?.mountRead?.cached))}) — docs/BENCHMARKS.md.`
  );
}

function writeSection(file, size, block) {
  const doc = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmarks\n';
  const head = `## ${SECTION}`;
  const start = doc.indexOf(head);
  const blocks = {};
  let before = `${doc.trimEnd()}\n\n`;
  let after = '';
  if (start >= 0) {
    const next = doc.indexOf('\n## ', start + head.length);
    const old = next >= 0 ? doc.slice(start, next + 1) : doc.slice(start);
    before = doc.slice(0, start);
    after = next >= 0 ? doc.slice(next + 1) : '';
    for (const m of old.matchAll(/<!-- bench-peers:(\S+) -->\n([\s\S]*?)<!-- \/bench-peers:\1 -->/g)) blocks[m[1]] = m[2];
  }
  blocks[size] = `${block.trimEnd()}\n`;
  const sizes = Object.keys(blocks).sort((a, b) => parseSize(b) - parseSize(a));
  const section = [intro(), ...sizes.map((s) => `<!-- bench-peers:${s} -->\n${blocks[s]}<!-- /bench-peers:${s} -->\n`)].join('\n');
  fs.writeFileSync(file, before + section + (after ? `\n${after}` : ''));
}

// ───────────────────────────── misc ─────────────────────────────

function parseSize(s) {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)/i.exec(String(s));
  return m ? Number(m[1]) * 1024 ** ' KMGT'.indexOf((m[2] || ' ').toUpperCase()) : 0;
}
function escapeRe(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
function f1(x) {
  return x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(1);
}
function f2(x) {
  return x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(2);
}
function mib(b) {
  return b === null || b === undefined ? '–' : mibFixed(b, b < 10 * MiB ? 1 : 0);
}
/** The machine, as the JSON results and the chart name its fields. */
function benchMachine() {
  const { nproc, cpu, memGiB } = machineInfo(ROOT);
  return { nproc, cpu, ramGiB: memGiB, kernel: os.release() };
}
