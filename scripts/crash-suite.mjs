#!/usr/bin/env node
// crash-suite — SIGKILL sinki at random (seeded) moments of backup, prune (forget --prune), push to
// a local-path remote, writes into a read-write mount, `sinki snapshot` of an unmounted store and
// `sinki snapshot` taken by a running mount (the mount killed), and check after every round that
// nothing committed was lost (see scripts/lib/crash-rounds.mjs for what each round checks).
//
//   npx tsc -p tsconfig.json
//   scripts/crash-suite [--rounds 50] [--seed 1] [--size 4M] [--ops backup,mount,prune,push,snapshot,mount-snapshot]
//                       [--workdir DIR] [--keep] [--json FILE]
//
//   --rounds N   rounds to run; operations take turns in the order of --ops (default 50)
//   --seed S     seeds the dataset, the kill moments and the choices of each round (default 1);
//                the same seed replays the same rounds (timing decides where exactly a kill lands)
//   --size S     size of the generated backup source (default 4M)
//   --ops LIST   which operations take part (default all six; mount, snapshot and mount-snapshot
//                need /dev/fuse and root: snapshot needs a live tree, which only a mount writes)
//   --workdir D  where the temporary work folder is made (default: the OS temp dir)
//   --keep       keep the work folder (store, remote, source) for a post-mortem
//   --json FILE  also write every round's record as JSON
//
// SINKI_CLI=path/to/cli/main.js runs another build (e.g. a copy of dist/ that a concurrent rebuild
// cannot change under a long run).
//
// Exit status: 0 every round passed, 1 some round found a problem (each is printed), 2 usage.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseOptions } from './lib/cli.mjs';
import { CrashSuite, CLI, OPERATIONS, runCrashRounds } from './lib/crash-rounds.mjs';

function parseArgs(argv) {
  const { values: v } = parseOptions(
    'crash-suite',
    argv,
    {
      rounds: { type: 'string', default: '50' },
      seed: { type: 'string', default: '1' },
      size: { type: 'string', default: '4M' },
      ops: { type: 'string', default: OPERATIONS.join(',') },
      workdir: { type: 'string', default: os.tmpdir() },
      keep: { type: 'boolean', default: false },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    { fail: usage },
  );
  if (v.help) usage();
  const o = {
    rounds: Number(v.rounds),
    seed: String(v.seed),
    size: String(v.size),
    ops: String(v.ops).split(',').filter(Boolean),
    workdir: String(v.workdir),
    keep: Boolean(v.keep),
    json: v.json ?? null,
  };
  if (!Number.isInteger(o.rounds) || o.rounds < 1) usage('--rounds must be a positive integer');
  for (const op of o.ops) if (!OPERATIONS.includes(op)) usage(`unknown operation ${op} (use ${OPERATIONS.join(',')})`);
  return o;
}

/** @returns {never} */
function usage(message) {
  if (message) process.stderr.write(`crash-suite: ${message}\n`);
  process.stderr.write(
    'usage: scripts/crash-suite [--rounds N] [--seed S] [--size 4M] [--ops backup,mount,prune,push,snapshot,mount-snapshot] [--workdir DIR] [--keep] [--json FILE]\n',
  );
  process.exit(message ? 2 : 0);
}

const o = parseArgs(process.argv.slice(2));
if (!fs.existsSync(CLI)) usage('dist/ is missing: run npx tsc -p tsconfig.json first');
const work = fs.mkdtempSync(path.join(o.workdir, 'sinki-crash-'));
const log = (line) => process.stdout.write(`${line}\n`);
const suite = new CrashSuite({ workdir: work, seed: o.seed, size: o.size, log });
const started = Date.now();
/** @type {Awaited<ReturnType<typeof runCrashRounds>> | null} */
let report = null;
let code = 0;
const onSignal = () => {
  void suite.cleanup().finally(() => process.exit(130));
};
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);
try {
  log(`crash suite: ${o.rounds} rounds of ${o.ops.join(', ')}, seed ${o.seed}, ${o.size} source, work folder ${work}`);
  await suite.setup();
  const rounds = await runCrashRounds({ suite, rounds: o.rounds, ops: o.ops });
  report = rounds;
  const unlock = await suite.finalUnlock();
  log(`\nsinki unlock removed ${unlock.removed} stale lock(s) of killed processes; left: ${unlock.left.length ? unlock.left.join(', ') : 'none'}`);
  if (unlock.left.length) code = 1;
  log(`\n| operation | rounds | killed mid-way | finished before the kill | survived (all checks passed) |`);
  log('| --- | ---: | ---: | ---: | ---: |');
  for (const [op, f] of Object.entries(rounds.byOp)) log(`| ${op} | ${f.rounds} | ${f.killed} | ${f.completed} | ${f.survived} |`);
  const restores = suite.restoreCount;
  log(
    `\n${rounds.records.length} rounds in ${Math.round((Date.now() - started) / 1000)} s; ${restores} snapshot restores compared; ${rounds.failures.length} round(s) with problems`,
  );
  if (rounds.failures.length) code = 1;
} catch (err) {
  process.stderr.write(`crash-suite: ${err.stack ?? err}\n`);
  code = 1;
} finally {
  await suite.cleanup();
  if (o.json && report) fs.writeFileSync(o.json, JSON.stringify({ seed: o.seed, size: o.size, ...report }, null, 2));
  if (o.keep || code !== 0) log(`work folder kept: ${work}`);
  else fs.rmSync(work, { recursive: true, force: true });
}
process.exit(code);
