#!/usr/bin/env node
// bench-versions — every version of one file across many snapshots: `sinki versions`, and
// /.versions/PATH/ through a mount.
//
//   npx tsc -p tsconfig.json
//   scripts/bench-versions [--snapshots 1000] [--every 3] [--files 50]
//
// A source of --files small files in five folders is backed up --snapshots times in one process
// (Repository.open once, then the archiver; a log file grows each time, so every snapshot has a new
// root tree), and the tracked file docs/tracked.txt gets new content every --every backups. Then:
// `sinki versions src/docs/tracked.txt` (a process of its own: store open, snapshot list, the
// versions), `sinki find tracked.txt`, and `ls` of /.versions/src/docs/tracked.txt in a fresh
// read-only mount (cold) and again (warm). Target: all versions across 1,000 snapshots in ≤ 2 s.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseOptions } from './lib/cli.mjs';
import { loadavg } from './lib/report.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: o } = parseOptions(
  'bench-versions',
  process.argv.slice(2),
  {
    snapshots: { type: 'string', default: '1000' },
    every: { type: 'string', default: '3' },
    files: { type: 'string', default: '50' },
  },
  { help: import.meta.url },
);
const dist = (rel) => import(pathToFileURL(path.join(root, 'dist', rel)).href);
const CLI = path.join(root, 'dist/cli/main.js');
const PASSWORD = 'bench versions';
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'sinki-bench-versions-'));
const env = { ...process.env, SINKI_PASSWORD: PASSWORD, XDG_CACHE_HOME: path.join(work, 'cache') };
const store = path.join(work, 'store');
const src = path.join(work, 'src');
const mnt = path.join(work, 'mnt');
const sinki = (...args) => execFileSync(process.execPath, [CLI, '-s', store, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
/** Wall milliseconds of fn. */
const timed = (fn) => {
  const t0 = performance.now();
  const out = fn();
  return { ms: performance.now() - t0, out };
};

let mounted = false;
try {
  const snapshots = Number(o.snapshots);
  const every = Number(o.every);
  for (let i = 0; i < Number(o.files); i++) {
    const dir = path.join(src, `d${i % 5}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `f${i}.txt`), `file ${i}\n`.repeat(20));
  }
  fs.mkdirSync(path.join(src, 'docs'));
  fs.mkdirSync(path.join(src, 'log'));
  sinki('init', '--kdf', 'pbkdf2', '--kdf-iterations', '1000', '--insecure-kdf');

  const { LocalBackend } = await dist('backend/local.js');
  const { Repository } = await dist('repo/repository.js');
  const { backup } = await dist('backup/archiver.js');
  const repo = await Repository.open(new LocalBackend(store), Buffer.from(PASSWORD));
  const made = performance.now();
  let parent = null;
  let versions = 0;
  for (let i = 0; i < snapshots; i++) {
    if (i % every === 0) {
      fs.writeFileSync(path.join(src, 'docs', 'tracked.txt'), `version ${versions++}\n`.repeat(10));
    }
    fs.appendFileSync(path.join(src, 'log', 'activity.log'), `backup ${i}\n`);
    const result = await backup(repo, { paths: [src], parent });
    parent = { ...result.snapshot, id: result.id };
    if ((i + 1) % 100 === 0) process.stderr.write(`${i + 1} snapshots (${((performance.now() - made) / 1000).toFixed(0)} s)\n`);
  }

  const cli = timed(() => sinki('versions', 'src/docs/tracked.txt', '--json'));
  const listed = cli.out.trim().split('\n').length;
  const find = timed(() => sinki('find', 'tracked.txt', '--json'));
  fs.mkdirSync(mnt);
  sinki('mount', mnt, '--background', '--read-only');
  mounted = true;
  const dir = path.join(mnt, '.versions', 'src', 'docs', 'tracked.txt');
  const cold = timed(() => fs.readdirSync(dir).length);
  const warm = timed(() => fs.readdirSync(dir).length);
  sinki('umount', mnt);
  mounted = false;

  const rows = [
    ['`sinki versions src/docs/tracked.txt --json` (a new process: open, list, versions)', cli.ms, listed],
    ['`sinki find tracked.txt --json`', find.ms, find.out.trim().split('\n').length],
    ['`ls` of /.versions/src/docs/tracked.txt, fresh mount (cold)', cold.ms, cold.out],
    ['the same again (warm)', warm.ms, warm.out],
  ];
  console.log(
    [
      `${snapshots} snapshots of ${Number(o.files) + 2} files (docs/tracked.txt changed every ${every} backups: ${versions} versions), ${new Date().toISOString().slice(0, 10)}, load average ${loadavg()}:`,
      '',
      '| what | ms | entries |',
      '| --- | ---: | ---: |',
      ...rows.map(([what, ms, n]) => `| ${what} | ${ms.toFixed(0)} | ${n} |`),
    ].join('\n'),
  );
  if (listed !== versions || cold.out !== versions) throw new Error(`expected ${versions} versions, got ${listed} (CLI) and ${cold.out} (mount)`);
} finally {
  if (mounted) spawnSync('fusermount', ['-uz', mnt]);
  fs.rmSync(work, { recursive: true, force: true, maxRetries: 3 });
}
