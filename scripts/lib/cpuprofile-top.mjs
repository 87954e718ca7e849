#!/usr/bin/env node
// cpuprofile-top.mjs — summarize V8 .cpuprofile files (from `node --cpu-prof`): top functions by self
// time and by total (inclusive) time, and self time per source file. Only the JS thread that wrote the
// profile is seen; work in native threads (liblzma via lzma-native, libuv's fs/crypto pool) shows up
// on it only as "(idle)"/"(program)" or in the native call that waits for it.
//
//   node scripts/lib/cpuprofile-top.mjs PROFILE.cpuprofile [more...] [--top 25]
import fs from 'node:fs';
import path from 'node:path';
import { parseOptions } from './cli.mjs';

const { values, positionals: files } = parseOptions(
  'cpuprofile-top',
  process.argv.slice(2),
  { top: { type: 'string', default: '25' } },
  { positionals: Infinity },
);
const top = Number(values.top);
if (!files.length) {
  console.error('usage: cpuprofile-top.mjs PROFILE.cpuprofile [...] [--top N]');
  process.exit(2);
}

const cwd = process.cwd();
const short = (url) => {
  if (!url) return '';
  let u = url.replace(/^file:\/\//, '');
  if (u.startsWith(cwd)) u = path.relative(cwd, u);
  return u.replace(/^.*node_modules\//, 'node_modules/');
};
const keyOf = (cf) => `${cf.functionName || '(anonymous)'}  ${short(cf.url)}${cf.url ? `:${cf.lineNumber + 1}` : ''}`;

for (const file of files) {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map();
  const total = new Map();
  const perFile = new Map();
  let all = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    const dt = (prof.timeDeltas[i + 1] ?? prof.timeDeltas[i] ?? 0) / 1000; // ms attributed to sample i
    all += dt;
    const n = byId.get(prof.samples[i]);
    const k = keyOf(n.callFrame);
    self.set(k, (self.get(k) ?? 0) + dt);
    const f = short(n.callFrame.url) || n.callFrame.functionName || '(native)';
    perFile.set(f, (perFile.get(f) ?? 0) + dt);
    const seen = new Set();
    for (let id = n.id; id !== undefined; id = parent.get(id)) {
      const kk = keyOf(byId.get(id).callFrame);
      if (seen.has(kk)) continue;
      seen.add(kk);
      total.set(kk, (total.get(kk) ?? 0) + dt);
    }
  }
  const idle = self.get('(idle)  ') ?? 0;
  console.log(`# ${file}`);
  console.log(`profile ${(all / 1000).toFixed(2)} s, idle ${(idle / 1000).toFixed(2)} s, busy ${((all - idle) / 1000).toFixed(2)} s on this thread\n`);
  const table = (title, m, n) => {
    console.log(`## ${title}\n\n| ms | % | function |\n|---:|---:|---|`);
    for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n))
      console.log(`| ${v.toFixed(0)} | ${((100 * v) / all).toFixed(1)} | ${k.replace(/\|/g, '\\|')} |`);
    console.log('');
  };
  table('Self time by function', self, top);
  table('Self time by file', perFile, Math.min(top, 15));
  table('Total (inclusive) time by function', new Map([...total].filter(([k]) => !k.startsWith('(root)'))), top);
}
