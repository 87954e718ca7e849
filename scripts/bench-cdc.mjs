#!/usr/bin/env node
// Measures CdcChunker throughput on 256 MiB of random data with DEFAULT_CDC.
// Usage: node scripts/bench-cdc.mjs [path/to/fastcdc.js]
//   default module: ../dist/backup/fastcdc.js (run `npx tsc -p tsconfig.json` first);
//   or set CDC_MODULE to a separately compiled fastcdc.js.
import { randomFillSync } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const modulePath = process.argv[2] ?? process.env.CDC_MODULE;
const moduleUrl = modulePath ? pathToFileURL(resolve(modulePath)).href : new URL('../dist/backup/fastcdc.js', import.meta.url).href;
const { CdcChunker, DEFAULT_CDC } = await import(moduleUrl);

const TOTAL = 256 * 1024 * 1024;
const PUSH_SIZE = 1024 * 1024; // like a file read stream

const data = Buffer.allocUnsafe(TOTAL);
for (let off = 0; off < TOTAL; off += 64 * 1024 * 1024) randomFillSync(data, off, Math.min(64 * 1024 * 1024, TOTAL - off));

function run() {
  const chunker = new CdcChunker(DEFAULT_CDC);
  let chunks = 0;
  let bytes = 0;
  const t0 = process.hrtime.bigint();
  for (let off = 0; off < TOTAL; off += PUSH_SIZE) {
    for (const c of chunker.push(data.subarray(off, off + PUSH_SIZE))) {
      chunks++;
      bytes += c.length;
    }
  }
  const tail = chunker.finish();
  if (tail) {
    chunks++;
    bytes += tail.length;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (bytes !== TOTAL) throw new Error(`chunks cover ${bytes} bytes, expected ${TOTAL}`);
  return { seconds, chunks };
}

run(); // warm-up
const results = [run(), run(), run()];
const best = Math.min(...results.map((r) => r.seconds));
const mbPerSec = TOTAL / 1e6 / best; // decimal MB/s
const { chunks } = results[0];
console.log(
  `fastcdc: ${mbPerSec.toFixed(0)} MB/s (${(TOTAL / 1048576 / best).toFixed(0)} MiB/s), ` +
    `256 MiB in ${(best * 1000).toFixed(0)} ms best of 3, ${chunks} chunks, avg ${(TOTAL / chunks / 1024).toFixed(0)} KiB`,
);
