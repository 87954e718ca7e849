#!/usr/bin/env node
// Measures every available xz engine (src/codec/xz.ts) on a deterministic mixed corpus and prints
// markdown tables; docs/xz-engines.md holds a run of it.
//
//   npx tsc -p tsconfig.json && scripts/bench-xz [--mib 64] [--presets 1,3,6] [--engines a,b] [--quick]
//
// --quick: 16 MiB corpus, presets 1 and 6, for a fast look.
import { spawn } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import os from 'node:os';
import { parseOptions } from './lib/cli.mjs';
import { median } from './lib/report.mjs';

const { values: args } = parseOptions(
  'bench-xz',
  process.argv.slice(2),
  {
    mib: { type: 'string' },
    presets: { type: 'string' },
    engines: { type: 'string' },
    quick: { type: 'boolean' },
  },
  { help: import.meta.url },
);

const { XZ_ENGINE_NAMES, tryXzEngineByName } = await import(new URL('../dist/codec/xz.js', import.meta.url).href).catch((err) => {
  console.error('bench-xz: cannot load dist/codec/xz.js; run `npx tsc -p tsconfig.json` first');
  throw err;
});

const corpusMiB = Number(args.mib ?? (args.quick ? 16 : 64));
const presets = (args.presets ?? (args.quick ? '1,6' : '1,3,6')).split(',').map(Number);
const engineNames = args.engines ? args.engines.split(',') : XZ_ENGINE_NAMES;
const MiB = 1024 * 1024;

const engines = [];
for (const name of engineNames) {
  const engine = tryXzEngineByName(name);
  if (engine) engines.push(engine);
  else console.error(`bench-xz: skipping ${name} (not available here)`);
}

const corpus = makeCorpus(corpusMiB * MiB);
console.log(`# xz engines: ${corpusMiB} MiB mixed corpus, ${os.cpus().length} cores, node ${process.version}\n`);

// Throughput: the corpus cut into chunks, compressed then decompressed by `streams` concurrent callers.
console.log('## Throughput (MB/s of plaintext; ratio = compressed/plain; lag = worst event-loop delay)\n');
console.log('| engine | preset | chunk | streams | compress MB/s | decompress MB/s | ratio | lag ms |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const preset of presets) {
  for (const engine of engines) {
    for (const chunkMiB of [1, 4]) {
      for (const streams of [1, 2]) {
        const r = await throughput(engine, preset, chunkMiB * MiB, streams);
        console.log(
          `| ${engine.name} | ${preset} | ${chunkMiB} MiB | ${streams} | ${r.compressMBs.toFixed(1)} | ` +
            `${r.decompressMBs.toFixed(1)} | ${r.ratio.toFixed(3)} | ${r.lagMs.toFixed(0)} |`,
        );
      }
    }
  }
  const ref = await xzCliWhole(preset);
  console.log(
    `| reference: \`xz -T2 -${preset}\` whole corpus | ${preset} | - | 2 threads | ${ref.compressMBs.toFixed(1)} | ` +
      `${ref.decompressMBs.toFixed(1)} | ${ref.ratio.toFixed(3)} | - |`,
  );
}

// Per-call latency for small blobs: sequential calls, median.
console.log('\n## Per-call latency (median ms, one call at a time, text-like blob)\n');
console.log('| engine | preset | blob | compress ms | decompress ms |');
console.log('|---|---:|---:|---:|---:|');
for (const preset of [1, 6]) {
  for (const size of [4 * 1024, 64 * 1024]) {
    const blob = corpus.subarray(0, size);
    for (const engine of engines) {
      const r = await latency(engine, preset, blob);
      console.log(`| ${engine.name} | ${preset} | ${size / 1024} KiB | ${r.compressMs.toFixed(2)} | ${r.decompressMs.toFixed(2)} |`);
    }
  }
}

async function throughput(engine, preset, chunkSize, streams) {
  const chunks = [];
  for (let off = 0; off < corpus.length; off += chunkSize) chunks.push(corpus.subarray(off, off + chunkSize));
  const lag = monitorEventLoopDelay({ resolution: 1 });
  lag.enable();
  let t = performance.now();
  const packed = await mapConcurrent(chunks, streams, (c) => engine.compress(c, preset));
  const compressMs = performance.now() - t;
  t = performance.now();
  const unpacked = await mapConcurrent(packed, streams, (p, i) => engine.decompress(p, chunks[i].length));
  const decompressMs = performance.now() - t;
  lag.disable();
  unpacked.forEach((u, i) => {
    if (!u.equals(chunks[i])) throw new Error(`${engine.name}: chunk ${i} did not round-trip`);
  });
  const packedBytes = packed.reduce((n, p) => n + p.length, 0);
  return {
    compressMBs: corpus.length / 1e6 / (compressMs / 1000),
    decompressMBs: corpus.length / 1e6 / (decompressMs / 1000),
    ratio: packedBytes / corpus.length,
    lagMs: lag.max / 1e6,
  };
}

async function latency(engine, preset, blob) {
  const rounds = 40;
  const c = [];
  const d = [];
  let packed = await engine.compress(blob, preset); // warm-up
  for (let i = 0; i < rounds; i++) {
    let t = performance.now();
    packed = await engine.compress(blob, preset);
    c.push(performance.now() - t);
    t = performance.now();
    await engine.decompress(packed, blob.length);
    d.push(performance.now() - t);
  }
  return { compressMs: median(c), decompressMs: median(d) };
}

/** The xz tool on the whole corpus in one go, its own two threads: what "xz at full speed" means here. */
async function xzCliWhole(preset) {
  let t = performance.now();
  const packed = await pipe(['-z', '-c', `-${preset}`, '--check=crc64', '-T2'], corpus);
  const compressMs = performance.now() - t;
  t = performance.now();
  const back = await pipe(['-d', '-c', '-T2'], packed);
  const decompressMs = performance.now() - t;
  if (!back.equals(corpus)) throw new Error('xz CLI reference did not round-trip');
  return {
    compressMBs: corpus.length / 1e6 / (compressMs / 1000),
    decompressMBs: corpus.length / 1e6 / (decompressMs / 1000),
    ratio: packed.length / corpus.length,
  };
}

function pipe(xzArgs, input) {
  return new Promise((resolve, reject) => {
    const child = spawn('xz', ['-q', ...xzArgs], { stdio: ['pipe', 'pipe', 'inherit'] });
    const out = [];
    child.stdout.on('data', (b) => out.push(b));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`xz exit ${code}`))));
    child.stdin.end(input);
  });
}

async function mapConcurrent(items, limit, fn) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return results;
}

/**
 * Deterministic mixed corpus in 256 KiB segments: ~35% prose-like text, ~30% source-like text,
 * ~20% random bytes, ~15% zero runs (sparse files, padding).
 */
function makeCorpus(size) {
  const rand = splitmix32(0x5151_4b1);
  const out = Buffer.alloc(size);
  const segment = 256 * 1024;
  const words = Array.from({ length: 3000 }, () => randomWord(rand));
  const idents = Array.from({ length: 400 }, () => randomWord(rand) + (rand() < 0.5 ? 'Count' : 'Value'));
  for (let off = 0; off < size; off += segment) {
    const end = Math.min(off + segment, size);
    const kind = rand();
    if (kind < 0.35) fillText(out, off, end, () => prose(rand, words));
    else if (kind < 0.65) fillText(out, off, end, () => sourceLine(rand, idents));
    else if (kind < 0.85) for (let i = off; i < end; i++) out[i] = (rand() * 256) | 0;
    // else: zeros, already there
  }
  return out;
}

function fillText(out, off, end, line) {
  let pos = off;
  while (pos < end) pos += out.write(line(), pos, end - pos, 'latin1');
}

function prose(rand, words) {
  const n = 6 + ((rand() * 14) | 0);
  const parts = [];
  // Zipf-like: low indices much more often.
  for (let i = 0; i < n; i++) parts.push(words[Math.floor(words.length * rand() ** 3)]);
  return parts.join(' ') + (rand() < 0.2 ? '.\n\n' : '. ');
}

function sourceLine(rand, idents) {
  const pick = () => idents[Math.floor(idents.length * rand() ** 2)];
  const indent = '  '.repeat((rand() * 4) | 0);
  const r = rand();
  if (r < 0.3) return `${indent}const ${pick()} = ${pick()}(${pick()}, ${(rand() * 1000) | 0});\n`;
  if (r < 0.5) return `${indent}if (${pick()} > ${pick()}) {\n${indent}  return ${pick()};\n${indent}}\n`;
  if (r < 0.7) return `${indent}// ${pick()} keeps the ${pick()} in step with ${pick()}\n`;
  if (r < 0.85) return `${indent}for (let i = 0; i < ${pick()}.length; i++) ${pick()}[i] += ${pick()};\n`;
  return `${indent}export function ${pick()}(${pick()}: number): string {\n`;
}

function randomWord(rand) {
  const letters = 'etaoinshrdlucmfwypvbgkjqxz';
  const len = 2 + ((rand() * 8) | 0);
  let w = '';
  for (let i = 0; i < len; i++) w += letters[Math.floor(letters.length * rand() ** 1.5)];
  return w;
}

function splitmix32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x9e3779b9) | 0;
    let t = a ^ (a >>> 16);
    t = Math.imul(t, 0x21f0aaad);
    t ^= t >>> 15;
    t = Math.imul(t, 0x735a2d97);
    return ((t ^ (t >>> 15)) >>> 0) / 4294967296;
  };
}
