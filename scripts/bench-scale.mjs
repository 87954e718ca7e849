#!/usr/bin/env node
// bench-scale — memory and open time of a store with millions of blobs, by simulation.
//
//   npx tsc -p tsconfig.json
//   scripts/bench-scale [--files 100k] [--per-dir 100] [--blobs 1M,10M] [--workdir DIR] [--keep] [--out docs/BENCHMARKS.md | --out -]
//
//   --files M    source files of the no-change backup (default 100k)
//   --per-dir K  files a folder (default 100; one folder of all of them shows what a huge folder costs)
//   --blobs LIST store sizes, in blobs, at which `open` is timed (default 1M,10M)
//   --workdir D  where the temporary work folder is made (default: the OS temp dir)
//   --keep       keep the work folder and print its path
//   --out FILE   markdown file whose "Scale (scripts/bench-scale)" section is written or replaced
//                (default docs/BENCHMARKS.md; "-" = print only)
//
// No chunk is written for real. The generator writes, through the store's own encoders and
// sealing (Repository.writeIndexSegment, saveTree, saveSnapshot):
//   1. a source tree of M small files (one line each) in folders of 100;
//   2. a store holding, for each file, the index entry of its one chunk (the id a backup would
//      give it, in an empty stand-in pack: a backup checks that the packs it reuses exist), real
//      tree blobs for every folder, and a snapshot of the source, as a first backup would leave;
//   3. then `sinki backup` of the unchanged source runs for real (wall time, peak RSS);
//   4. index segments of random ids (in 4,096-blob packs, 64 packs a segment) are added until the
//      store holds each size of --blobs, and at each a fresh process opens the store
//      (Repository.open: key, config, every index segment read, checked and loaded), timed
//      from inside, with its peak RSS and the index's own bytes per blob.
// The store's key is a fast PBKDF2 one, so the figures are the index and the walk alone: a store made
// by `sinki init` first derives its key with scrypt (up to 256 MiB, freed before the index loads).
// Exit status: 0 ok (targets missed are reported, not fatal), 1 a command failed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { measure } from './lib/measure.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = path.join(ROOT, 'dist');
const CLI = path.join(DIST, 'cli/main.js');
const SELF = fileURLToPath(import.meta.url);
const SECTION = 'Scale (scripts/bench-scale)';
const MiB = 1024 * 1024;
const PASSWORD = 'bench-scale';
const BLOBS_PER_PACK = 4096;
const PACKS_PER_SEGMENT = 64;
const TARGETS = { openSeconds10M: 5, rerunRssMiB1M: 1024 };

const dist = async (rel) => import(pathToFileURL(path.join(DIST, rel)).href);

if (process.argv[2] === '--open') {
  // Child mode: open the store once, report what it took.
  const { Repository } = await dist('repo/repository.js');
  const { LocalBackend } = await dist('backend/local.js');
  const t0 = performance.now();
  const repo = await Repository.open(new LocalBackend(process.argv[3]), Buffer.from(PASSWORD));
  const seconds = (performance.now() - t0) / 1000;
  const mem = process.memoryUsage();
  process.stdout.write(
    `${JSON.stringify({
      seconds,
      blobs: repo.index.blobCount,
      packs: repo.index.packIds().length,
      indexBytes: repo.index.memoryBytes,
      rss: mem.rss,
      heapUsed: mem.heapUsed,
      arrayBuffers: mem.arrayBuffers,
    })}\n`,
  );
  process.exit(0);
}

const args = parseArgs(process.argv.slice(2));
if (args.help) {
  process.stdout.write(
    `${fs
      .readFileSync(SELF, 'utf8')
      .split('\n')
      .slice(1)
      .filter((_l, i, a) => a.slice(0, i + 1).every((x) => x.startsWith('//')))
      .map((l) => l.replace(/^\/\/ ?/, ''))
      .join('\n')}\n`,
  );
  process.exit(0);
}
const files = parseCount(args.files ?? '100k');
const FILES_PER_DIR = parseCount(args['per-dir'] ?? '100');
const blobSizes = String(args.blobs ?? '1M,10M')
  .split(',')
  .map(parseCount)
  .sort((a, b) => a - b);
const outFile = args.out === '-' ? null : path.resolve(ROOT, args.out ?? 'docs/BENCHMARKS.md');
if (!fs.existsSync(CLI)) die(`${path.relative(process.cwd(), CLI)} is missing; run \`npx tsc -p tsconfig.json\` first`);

const { Repository } = await dist('repo/repository.js');
const { LocalBackend } = await dist('backend/local.js');
const { DEFAULTS, DEFAULT_NO_COMPRESS_EXT } = await dist('repo/store-config.js');
const { packPath } = await dist('repo/layout.js');

const work = fs.mkdtempSync(path.join(args.workdir ?? os.tmpdir(), 'bench-scale-'));
const source = path.join(work, 'src');
const storeDir = path.join(work, 'store');
const env = { ...process.env, SINKI_PASSWORD: PASSWORD, SINKI_STORE: storeDir };
const startedAt = new Date();
const loadBefore = os.loadavg()[0].toFixed(1);
const log = (s) => process.stderr.write(`${s}\n`);

try {
  let t = performance.now();
  makeSource(source, files);
  const createSeconds = (performance.now() - t) / 1000;
  log(`source: ${files} files in ${createSeconds.toFixed(1)} s`);

  t = performance.now();
  const params = {
    cipher: DEFAULTS.cipher,
    chunkSize: DEFAULTS.chunkSize,
    cdc: DEFAULTS.cdc,
    packSize: DEFAULTS.packSize,
    compression: { preset: 1, minCompressSize: DEFAULTS.minCompressSize, noCompressExt: DEFAULT_NO_COMPRESS_EXT },
  };
  const kdf = { name: 'pbkdf2', cost: { iterations: 1000 }, insecure: true };
  let repo = await Repository.init(new LocalBackend(storeDir), Buffer.from(PASSWORD), params, kdf);
  const storeBlobs = await firstBackupBySimulation(repo, source);
  await repo.commitState();
  log(`store: ${storeBlobs} blobs for the source in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  const rerun = await measure('node', [CLI, 'backup', '--json', source], { env });
  const summary = JSON.parse(
    rerun.stdout
      .trim()
      .split('\n')
      .filter((l) => l.includes('"summary"'))
      .at(-1) ?? '{}',
  );
  if (summary.files_unchanged !== files)
    die(`the re-run found ${summary.files_unchanged} of ${files} files unchanged: the simulated first backup does not match the source`);
  log(`re-run: ${rerun.seconds.toFixed(1)} s, peak RSS ${(rerun.peakRss / MiB).toFixed(0)} MiB`);
  const openAtFiles = await openOnce(storeDir);

  const opens = [];
  let blobs = openAtFiles.blobs;
  repo = await Repository.open(new LocalBackend(storeDir), Buffer.from(PASSWORD));
  for (const size of blobSizes) {
    if (size < blobs) continue;
    t = performance.now();
    await addRandomBlobs(repo, size - blobs);
    await repo.commitState();
    blobs = size;
    log(`index: ${size} blobs (${((performance.now() - t) / 1000).toFixed(1)} s to write)`);
    opens.push(await openOnce(storeDir));
    log(`open: ${JSON.stringify(opens.at(-1))}`);
  }

  const result = { files, createSeconds, rerun: { seconds: rerun.seconds, peakRss: rerun.peakRss, summary }, openAtFiles, opens };
  const md = render(result);
  process.stdout.write(`${md}\n`);
  if (outFile) writeSection(outFile, md);
} finally {
  if (args.keep) log(`kept ${work}`);
  else fs.rmSync(work, { recursive: true, force: true });
}

/** M files of one distinct line each, FILES_PER_DIR a folder. */
function makeSource(dir, n) {
  for (let i = 0; i < n; i++) {
    const sub = path.join(dir, `d${String(Math.floor(i / FILES_PER_DIR)).padStart(5, '0')}`);
    if (i % FILES_PER_DIR === 0) fs.mkdirSync(sub, { recursive: true });
    fs.writeFileSync(path.join(sub, `f${String(i % FILES_PER_DIR).padStart(String(FILES_PER_DIR - 1).length, '0')}`), `file ${i}\n`);
  }
}

function nodeBase(name, st) {
  return { name, mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid), mtimeNs: st.mtimeNs.toString(), ctimeNs: st.ctimeNs.toString() };
}

/**
 * What a first backup of `source` leaves, without chunks: the index entries of each file's chunk
 * (in empty stand-in packs), the trees, and the snapshot. Returns how many data blobs it indexed.
 */
async function firstBackupBySimulation(repo, src) {
  let pending = [];
  const packs = [];
  let dataBlobs = 0;
  const flushPack = async (force) => {
    if (pending.length === 0 || (!force && pending.length < BLOBS_PER_PACK)) return;
    let offset = 37;
    const packId = randomBytes(32).toString('hex');
    const entries = pending.map(({ id, length }) => {
      const e = { kind: 0, id, offset, length, plainLength: length - 29 };
      offset += length;
      return e;
    });
    packs.push({ packId, entries });
    await fs.promises.mkdir(path.dirname(path.join(storeDir, packPath(packId))), { recursive: true });
    await fs.promises.writeFile(path.join(storeDir, packPath(packId)), '');
    pending = [];
    if (packs.length >= PACKS_PER_SEGMENT || force) {
      await repo.writeIndexSegment(packs.splice(0));
    }
  };
  const walk = async (dir) => {
    const nodes = [];
    for (const name of fs.readdirSync(dir).sort()) {
      const abs = path.join(dir, name);
      const st = fs.lstatSync(abs, { bigint: true });
      if (st.isDirectory()) {
        nodes.push({ ...nodeBase(name, st), type: 'dir', size: 0, subtree: await walk(abs) });
        continue;
      }
      const content = fs.readFileSync(abs);
      const { id, sha256 } = repo.blobIdAndSha256(content);
      pending.push({ id, length: content.length + 29 });
      dataBlobs += 1;
      await flushPack(false);
      nodes.push({
        ...nodeBase(name, st),
        type: 'file',
        size: content.length,
        inode: Number(st.ino),
        chunks: [[id, content.length]],
        sha256: (sha256 ?? Buffer.alloc(32)).toString('hex'),
      });
    }
    return repo.saveTree({ nodes });
  };
  const st = fs.lstatSync(src, { bigint: true });
  const rootNode = { ...nodeBase(path.basename(src), st), type: 'dir', size: 0, subtree: await walk(src) };
  await flushPack(true);
  const tree = await repo.saveTree({ nodes: [rootNode] });
  await repo.flush();
  await repo.saveSnapshot({
    time: new Date().toISOString(),
    host: os.hostname(),
    username: os.userInfo().username,
    paths: [path.resolve(src)],
    tags: [],
    tree,
    summary: {
      files: dataBlobs,
      dirs: Math.ceil(dataBlobs / FILES_PER_DIR) + 1,
      bytes: 0,
      newBytes: 0,
      storedBytes: 0,
      packsWritten: 0,
      durationMs: 0,
      errors: 0,
    },
  });
  return dataBlobs;
}

/** Index segments of `n` random blob ids (packs that exist nowhere: open does not look at packs). */
async function addRandomBlobs(repo, n) {
  while (n > 0) {
    const packs = [];
    for (let p = 0; p < PACKS_PER_SEGMENT && n > 0; p++) {
      const count = Math.min(BLOBS_PER_PACK, n);
      n -= count;
      const ids = randomBytes(32 * count);
      const entries = [];
      let offset = 37;
      for (let i = 0; i < count; i++) {
        const length = 1000 + (ids[i * 32] << 4);
        entries.push({ kind: i % 64 === 0 ? 1 : 0, id: ids.toString('hex', i * 32, i * 32 + 32), offset, length, plainLength: length * 2 });
        offset += length;
      }
      packs.push({ packId: randomBytes(32).toString('hex'), entries });
    }
    await repo.writeIndexSegment(packs, false);
  }
}

async function openOnce(dir) {
  const r = await measure('node', [SELF, '--open', dir]);
  return { ...JSON.parse(r.stdout), wallSeconds: r.seconds, peakRss: r.peakRss };
}

function render(r) {
  const fmt = (n) => n.toLocaleString('en-US');
  const mib = (b) => `${(b / MiB).toFixed(0)} MiB`;
  const lines = [];
  lines.push(`## ${SECTION}`);
  lines.push('');
  lines.push(
    `Run ${startedAt.toISOString().slice(0, 10)} on ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), Node ${process.version}, load average ${loadBefore} at the start and ${os.loadavg()[0].toFixed(1)} at the end (the machine is shared: a load above the core count slows every figure): \`scripts/bench-scale --files ${args.files ?? '100k'}${args['per-dir'] ? ` --per-dir ${args['per-dir']}` : ''} --blobs ${args.blobs ?? '1M,10M'}\`.`,
  );
  lines.push('');
  lines.push('| store | open (in process) | open (process wall) | peak RSS | index bytes per blob |');
  lines.push('| --- | ---: | ---: | ---: | ---: |');
  for (const o of [r.openAtFiles, ...r.opens]) {
    lines.push(
      `| ${fmt(o.blobs)} blobs, ${fmt(o.packs)} packs | ${o.seconds.toFixed(2)} s | ${o.wallSeconds.toFixed(2)} s | ${mib(o.peakRss)} | ${(o.indexBytes / o.blobs).toFixed(1)} |`,
    );
  }
  lines.push('');
  lines.push(
    '"open (in process)" is Repository.open as the child process timed it (key, config, every segment read, hash-checked, unsealed and loaded); "process wall" adds starting Node. Index bytes per blob: the record pages and hash slots over the blobs indexed; peak RSS is the whole process.',
  );
  lines.push('');
  const s = r.rerun.summary;
  lines.push(
    `No-change \`sinki backup\` of ${fmt(r.files)} files, ${fmt(FILES_PER_DIR)} a folder (${fmt(r.openAtFiles.blobs)} blobs in the store): ${r.rerun.seconds.toFixed(1)} s, peak RSS ${mib(r.rerun.peakRss)}` +
      `, ${fmt(s.files_unchanged)} files unchanged, ${fmt(s.packs_written)} packs written.`,
  );
  const tenM = r.opens.find((o) => o.blobs >= 10_000_000);
  lines.push('');
  lines.push(
    `Targets: a store of 10 million blobs opens in ≤ ${TARGETS.openSeconds10M} s: ${tenM ? `${tenM.seconds.toFixed(2)} s, ${tenM.seconds <= TARGETS.openSeconds10M ? 'met' : 'missed'}` : 'not measured (--blobs below 10M)'}; a no-change re-run of 1 million files under ${TARGETS.rerunRssMiB1M} MiB RSS: ${r.files >= 1_000_000 ? `${mib(r.rerun.peakRss)}, ${r.rerun.peakRss < TARGETS.rerunRssMiB1M * MiB ? 'met' : 'missed'}` : `not measured (${fmt(r.files)} files)`}.`,
  );
  return lines.join('\n');
}

function writeSection(file, md) {
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const start = text.indexOf(`## ${SECTION}`);
  if (start < 0) return fs.writeFileSync(file, `${text.trimEnd()}\n\n${md}\n`);
  const next = text.indexOf('\n## ', start + 3);
  fs.writeFileSync(file, `${text.slice(0, start)}${md}\n${next < 0 ? '' : text.slice(next)}`);
}

function parseCount(s) {
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(String(s));
  if (!m) return die(`not a count: ${s}`);
  return Math.round(Number(m[1]) * { '': 1, k: 1e3, K: 1e3, m: 1e6, M: 1e6 }[m[2]]);
}

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') out.help = true;
    else if (a === '--keep') out.keep = true;
    else if (a.startsWith('--')) out[a.slice(2)] = argv[++i];
    else die(`unknown argument ${a}`);
  }
  return out;
}

/** @param {string} msg @returns {never} */
function die(msg) {
  process.stderr.write(`bench-scale: ${msg}\n`);
  process.exit(1);
}
