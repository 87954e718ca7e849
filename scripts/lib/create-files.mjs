// create-files.mjs — create N files of SIZE bytes in one folder (open, write, close each), the way a
// build or an unpacked archive does, and print the rate per slice of N/SLICES files as JSON:
//   {"files":20000,"seconds":3.3,"rate":6100,"slices":[4800,...]}
// A falling rate across slices means per-file work that grows with the folder.
//   node scripts/lib/create-files.mjs DIR [--files 20000] [--size 1024] [--slices 10]
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { parseOptions } from './cli.mjs';

/** @returns {never} */
const usage = (message = '') => {
  if (message) console.error(`create-files: ${message}`);
  console.error('usage: create-files.mjs DIR [--files 20000] [--size 1024] [--slices 10]');
  process.exit(2);
};
const { values, positionals } = parseOptions(
  'create-files',
  process.argv.slice(2),
  { files: { type: 'string', default: '20000' }, size: { type: 'string', default: '1024' }, slices: { type: 'string', default: '10' } },
  { positionals: 1, fail: usage },
);
const dir = positionals[0];
if (!dir) usage();
const files = Number(values.files);
const size = Number(values.size);
const slices = Number(values.slices);
const per = Math.max(1, Math.floor(files / slices));

fs.mkdirSync(dir, { recursive: true });
const data = randomBytes(size);
const rates = [];
const start = performance.now();
let sliceStart = start;
for (let i = 0; i < files; i++) {
  fs.writeFileSync(`${dir}/f${i}`, data);
  if ((i + 1) % per === 0) {
    const now = performance.now();
    rates.push(Math.round(per / ((now - sliceStart) / 1000)));
    sliceStart = now;
  }
}
const seconds = (performance.now() - start) / 1000;
console.log(JSON.stringify({ files, seconds: +seconds.toFixed(2), rate: Math.round(files / seconds), slices: rates }));
