#!/usr/bin/env node
// fuzz-formats — seeded mutation of real store files (pack, index segment, snapshot, refs/head, key
// file, sinki.json) and of the plaintexts inside them (tree blobs, index and snapshot payloads, a pack
// header, xz blob payloads), fed to sinki's decoders (dist/). Sealed files must decode to their
// original value or throw a SinkiError; inner payloads to some value or a SinkiError. Anything else —
// a TypeError, a RangeError, a different value from a sealed file, a hang — is a failure.
// See scripts/lib/fuzz-formats.mjs.
//
//   npx tsc -p tsconfig.json
//   scripts/fuzz-formats [--iterations 100000] [--seed 1] [--only REGEX] [--workdir DIR]
//
//   --iterations N  mutations in all, spread over the targets in turn (default 20000)
//   --seed S        seeds the mutations (default 1); the same seed and build replay the same inputs
//   --only REGEX    only the targets whose name matches
//   --workdir D     where the temporary store is made (default: the OS temp dir)
//
// SINKI_DIST=path/to/dist decodes with another build (e.g. a copy of dist/ that a concurrent rebuild
// cannot change under a long run).
//
// Exit status: 0 no failure, 1 failures (each kind printed with an example), 2 usage.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseOptions } from './lib/cli.mjs';
import { buildCorpus, fuzz } from './lib/fuzz-formats.mjs';

const { values: v } = parseOptions(
  'fuzz-formats',
  process.argv.slice(2),
  {
    iterations: { type: 'string', default: '20000' },
    seed: { type: 'string', default: '1' },
    only: { type: 'string' },
    workdir: { type: 'string', default: os.tmpdir() },
    help: { type: 'boolean', short: 'h' },
  },
  { fail: usage },
);
if (v.help) usage();
const o = {
  iterations: Number(v.iterations),
  seed: String(v.seed),
  only: v.only === undefined ? null : new RegExp(String(v.only)),
  workdir: String(v.workdir),
};
if (!Number.isInteger(o.iterations) || o.iterations < 1) usage('--iterations must be a positive integer');

/** @returns {never} */
function usage(message) {
  if (message) process.stderr.write(`fuzz-formats: ${message}\n`);
  process.stderr.write('usage: scripts/fuzz-formats [--iterations N] [--seed S] [--only REGEX] [--workdir DIR]\n');
  process.exit(message ? 2 : 0);
}

const work = fs.mkdtempSync(path.join(o.workdir, 'sinki-fuzz-'));
let code = 0;
try {
  const corpus = await buildCorpus(work);
  const started = Date.now();
  const tty = process.stderr.isTTY;
  const { stats, failures } = await fuzz({
    corpus,
    iterations: o.iterations,
    seed: o.seed,
    only: o.only ? (name) => /** @type {RegExp} */ (o.only).test(name) : undefined,
    onProgress: (n) => tty && process.stderr.write(`\r${n}/${o.iterations}`),
  });
  if (tty) process.stderr.write('\r\x1b[K');
  process.stdout.write(`${o.iterations} mutations, seed ${o.seed}, ${Math.round((Date.now() - started) / 1000)} s\n\n`);
  process.stdout.write(
    '| target | contract | tried | original value | other value | SinkiError | failures |\n| --- | --- | ---: | ---: | ---: | ---: | ---: |\n',
  );
  for (const s of stats) {
    const errors =
      Object.entries(s.errors)
        .map(([k, v]) => `${v} ${k}`)
        .join(', ') || '0';
    process.stdout.write(`| ${s.name} | ${s.contract} | ${s.tried} | ${s.same} | ${s.contract === 'sealed' ? '—' : s.other} | ${errors} | ${s.failures} |\n`);
  }
  if (failures.length) {
    code = 1;
    process.stdout.write('\nfailures (up to 5 per target):\n');
    for (const f of failures) process.stdout.write(`  ${f.target}, iteration ${f.iteration} (${f.mutation}): ${f.outcome}\n`);
  }
} catch (err) {
  process.stderr.write(`fuzz-formats: ${err.stack ?? err}\n`);
  code = 1;
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
process.exit(code);
