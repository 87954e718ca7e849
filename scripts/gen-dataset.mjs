#!/usr/bin/env node
// gen-dataset.mjs — deterministic, seeded dataset generator for Sinki benchmarks and tests.
//
// Plain Node (>=20) ESM, no dependencies, runs without a TypeScript build.
//
// Usage:
//   node scripts/gen-dataset.mjs OUTDIR [--size 1G|100M|...] [--seed N] [--preset quick|full]
//   node scripts/gen-dataset.mjs OUTDIR --mutate PERCENT [--seed N]
//
//   --size S      target total bytes of regular files; suffixes K/M/G/T are binary (KiB...),
//                 "KB"/"KiB" spellings are accepted too. Default 1G; minimum 1M.
//   --preset P    quick = 100M, full = 1G (an explicit --size wins).
//   --seed N      any string/integer, default 42. Same seed + size => byte-identical tree
//                 (contents, names, modes, mtimes, symlink targets) on any machine.
//   --mutate P    instead of generating, deterministically modify the dataset already in OUTDIR:
//                 ~P% of regular files are changed (overwrite bytes in the middle, append,
//                 insert at the start of large files, or mtime-only touch), plus a few files are
//                 added and a few deleted (each ~P/10 % of files). The change set is derived from
//                 the seed and the current listing, so repeated runs keep mutating further, and the
//                 same input tree + seed always yields the same output tree.
//
// Generation refuses (exit 2) when OUTDIR exists and is non-empty. Nothing is written outside
// OUTDIR. A one-line summary is printed at the end.
//
// Composition (shares of --size bytes):
//   src/, docs/   ~30% source code and prose (ts/js/c/go/rs/java/py/md/txt, 1–200 KiB each)
//   data/         ~10% structured: JSON, NDJSON, CSV, logs
//   bin/, lib/, tools/  ~15% executable-like binaries (.so/.exe/.dll/.wasm/no ext)
//   media/, archives/   ~25% incompressible (.jpg .png .mp4 .zip .gz, a few to tens of MiB)
//   deep/         ~5% thousands of 100 B–8 KiB files in deeply nested directories
//   vm/, db/, backups/  ~15% a few large files: disk image (zero/random/text/binary/repeated
//                 regions), a page-structured database file, a tar of source files (dedups with src/)
//   odd/ and scattered: empty files, empty dirs, symlinks (relative to files/dirs, chained,
//                 dangling, bin/X11 -> "." loop like /usr/bin/X11), odd/unicode names, modes 0644/0755/0600/0700,
//                 mtimes incl. epoch 0 and a sub-second one.
//
// Determinism notes: the PRNG is sfc32 in 32-bit integer arithmetic; no Math.pow/log/exp are used
// for anything that influences output; random bytes are defined as little-endian 32-bit words.

import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { die as dieAs, parseOptions } from './lib/cli.mjs';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const LE = os.endianness() === 'LE';
const PROG = 'gen-dataset';

// ───────────────────────────── PRNG ─────────────────────────────

function mix32(h) {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function hash32(str, salt = 0) {
  let h = (0x811c9dc5 ^ Math.imul(salt, 0x9e3779b1)) >>> 0;
  for (let i = 0; i < str.length; i++) h = Math.imul(h ^ str.charCodeAt(i), 0x01000193);
  return mix32(h ^ str.length);
}

class Rng {
  constructor(key) {
    key = String(key);
    this.a = hash32(key, 1) | 0;
    this.b = hash32(key, 2) | 0;
    this.c = hash32(key, 3) | 0;
    this.d = hash32(key, 4) | 0;
    for (let i = 0; i < 16; i++) this.next();
  }
  next() {
    // sfc32
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }
  float() {
    return this.next() / 4294967296;
  }
  int(n) {
    return Math.floor(this.float() * n);
  }
  range(lo, hi) {
    return lo + this.int(hi - lo + 1);
  }
  chance(p) {
    return this.float() < p;
  }
  pick(arr) {
    return arr[this.int(arr.length)];
  }
  /** index skewed toward 0 (zipf-like), power 2 or 3 */
  skew(n, pow = 2) {
    const r = this.float();
    return Math.floor(n * (pow === 3 ? r * r * r : r * r));
  }
  pickSkew(arr, pow = 2) {
    return arr[this.skew(arr.length, pow)];
  }
  weighted(table) {
    // table: [[weight, value], ...]
    let total = 0;
    for (const [w] of table) total += w;
    let r = this.float() * total;
    for (const [w, v] of table) {
      if (r < w) return v;
      r -= w;
    }
    return table[table.length - 1][1];
  }
  /** log-uniform-ish integer in [lo, hi] using octaves (exact arithmetic only). */
  logSize(lo, hi, smallBias = false) {
    if (hi <= lo) return Math.max(1, Math.floor(hi));
    let oct = 0;
    while (lo * 2 ** (oct + 1) <= hi) oct++;
    const r = this.float();
    const k = Math.floor((oct + 1) * (smallBias ? r * r : r));
    const base = lo * 2 ** k;
    return Math.min(hi, Math.floor(base + this.float() * base));
  }
  fork(label) {
    return new Rng(`${this.next()}/${this.next()}/${label}`);
  }
  /** fill u8[start,end) with random bytes, defined as a stream of little-endian u32 words. */
  fill(u8, start = 0, end = u8.length) {
    let a = this.a,
      b = this.b,
      c = this.c,
      d = this.d;
    let i = start;
    let t = 0;
    if (LE && ((u8.byteOffset + i) & 3) === 0) {
      const n = (end - i) >>> 2;
      const w = new Uint32Array(u8.buffer, u8.byteOffset + i, n);
      for (let j = 0; j < n; j++) {
        t = (((a + b) | 0) + d) | 0;
        d = (d + 1) | 0;
        a = b ^ (b >>> 9);
        b = (c + (c << 3)) | 0;
        c = (c << 21) | (c >>> 11);
        c = (c + t) | 0;
        w[j] = t;
      }
      i += n * 4;
    }
    while (i < end) {
      t = (((a + b) | 0) + d) | 0;
      d = (d + 1) | 0;
      a = b ^ (b >>> 9);
      b = (c + (c << 3)) | 0;
      c = (c << 21) | (c >>> 11);
      c = (c + t) | 0;
      for (let k = 0; k < 4 && i < end; k++) u8[i++] = (t >>> (8 * k)) & 255;
    }
    this.a = a;
    this.b = b;
    this.c = c;
    this.d = d;
    return u8;
  }
  bytes(n) {
    return this.fill(Buffer.alloc(n));
  }
  hex(n) {
    let s = '';
    while (s.length < n) s += this.next().toString(16).padStart(8, '0');
    return s.slice(0, n);
  }
}

// ───────────────────────────── vocabulary ─────────────────────────────

const EN = (
  'the of and to in is that for it as with was on be by this are from at or an have not which but ' +
  'all were when we there can more one if has their will about out also its into them only other some ' +
  'time these two may then do first any new like our over such after most made between used well many ' +
  'where must through back years much should because each just those people how too state good very ' +
  'make world still own see work long get here both life being under never day same another know while ' +
  'last might great old year off come since against go came right take three small large every found ' +
  'part without again place around however home few number end although often set order point system ' +
  'group case fact example data change process problem result value level support form information ' +
  'report future available different important possible simple quickly carefully usually already ' +
  'below above before during until within across behind beyond toward upon whether either neither'
).split(' ');

const TECH = (
  'data file block chunk index cache buffer stream node tree hash key value store repo snapshot backup ' +
  'archive config option error result request response handler client server session token user account ' +
  'record entry list map set queue worker task job event message packet frame segment offset length size ' +
  'count total limit range start end begin finish open close read write flush sync lock mutex thread pool ' +
  'manager factory builder parser lexer encoder decoder writer reader state status mode flag level path ' +
  'name type kind id uuid version header footer payload metadata timestamp checksum digest cipher nonce ' +
  'salt compress decompress encrypt decrypt verify validate update delete create insert remove append ' +
  'merge split join format render load save init setup reset retry timeout deadline schedule dispatch ' +
  'emit listen watch poll fetch push pull commit rollback resolve reject source target local remote ' +
  'input output context scope policy rule filter sort batch pack unpack mount inode dir link pending ' +
  'active dirty clean free used max min avg delta base prev next first last head tail left right'
).split(' ');

const SYL = 'ka lo mi re su ta ne vi do ra po le ti mo sa ke ru ni ba to ga ze fi lu'.split(' ');

// ───────────────────────────── text generators ─────────────────────────────

function cap(s) {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

class Vocab {
  constructor(rng) {
    // prose vocabulary: common words first (zipf head), then tech words, then pseudo-words
    const words = [...EN, ...TECH];
    const extra = new Set();
    while (extra.size < 600) {
      let w = '';
      const n = rng.range(2, 4);
      for (let i = 0; i < n; i++) w += rng.pick(SYL);
      if (rng.chance(0.3)) w += rng.pick(['ing', 'ed', 's', 'tion', 'ly', 'er']);
      extra.add(w);
    }
    this.words = [...words, ...extra];
    // global identifier pool
    const ids = new Set();
    while (ids.size < 3000) {
      const n = rng.weighted([
        [3, 1],
        [5, 2],
        [2, 3],
      ]);
      const parts = [];
      for (let i = 0; i < n; i++) parts.push(rng.pickSkew(TECH, 2));
      ids.add(parts.join('_'));
    }
    this.ids = [...ids];
    // recurring phrases (prose reuses collocations, which is much of why it compresses)
    this.phrases = [];
    for (let i = 0; i < 400; i++) {
      const n = rng.range(2, 5);
      const p = [];
      for (let j = 0; j < n; j++) p.push(this.words[rng.skew(this.words.length, 3)]);
      this.phrases.push(p.join(' '));
    }
    this.unicodeWords = ['café', 'naïve', 'über', 'façade', 'São Paulo', 'Zürich', 'résumé', '東京', 'München', '— ', '“quoted”', '✓'];
  }
  word(rng) {
    return this.words[rng.skew(this.words.length, 3)];
  }
  sentence(rng, minW = 5, maxW = 18) {
    const n = rng.range(minW, maxW);
    const out = new Array(n);
    for (let i = 0; i < n; i++) {
      const r = rng.float();
      out[i] = r < 0.002 ? rng.pick(this.unicodeWords) : r < 0.25 ? this.phrases[rng.skew(this.phrases.length, 2)] : this.word(rng);
      if (i > 1 && i < n - 1 && rng.chance(0.06)) out[i] += ',';
    }
    out[0] = cap(out[0]);
    return (
      out.join(' ') +
      rng.weighted([
        [12, '.'],
        [1, '?'],
        [1, '!'],
        [1, ':'],
      ])
    );
  }
  paragraph(rng) {
    const n = rng.range(2, 7);
    const s = [];
    for (let i = 0; i < n; i++) s.push(this.sentence(rng));
    return s.join(' ');
  }
}

function styleId(parts, style) {
  switch (style) {
    case 'snake':
      return parts.join('_');
    case 'pascal':
      return parts.map(cap).join('');
    default:
      return parts[0] + parts.slice(1).map(cap).join('');
  }
}

const LANGS = {
  ts: {
    ext: 'ts',
    cmt: '//',
    braces: true,
    style: 'camel',
    decl: ['const', 'let'],
    types: ['string', 'number', 'boolean', 'Buffer', 'Uint8Array', 'Promise<void>', 'string[]', 'Map<string, number>', 'unknown'],
  },
  js: { ext: 'js', cmt: '//', braces: true, style: 'camel', decl: ['const', 'let'], types: [] },
  c: {
    ext: 'c',
    cmt: '//',
    braces: true,
    style: 'snake',
    decl: ['int', 'size_t', 'uint32_t', 'const char *', 'struct ctx *', 'uint8_t *'],
    types: ['int', 'void', 'size_t', 'uint64_t', 'const char *', 'struct entry *'],
  },
  go: { ext: 'go', cmt: '//', braces: true, style: 'camel', decl: ['var'], types: ['int', 'string', 'error', '[]byte', 'uint64', '*Node', 'bool'] },
  rs: {
    ext: 'rs',
    cmt: '//',
    braces: true,
    style: 'snake',
    decl: ['let', 'let mut'],
    types: ['u64', 'usize', '&str', 'String', 'Vec<u8>', 'Result<(), Error>', 'Option<&Entry>', 'bool'],
  },
  java: {
    ext: 'java',
    cmt: '//',
    braces: true,
    style: 'camel',
    decl: ['final var', 'int', 'String', 'long'],
    types: ['int', 'String', 'long', 'void', 'List<Entry>', 'byte[]', 'boolean'],
  },
  py: { ext: 'py', cmt: '#', braces: false, style: 'snake', decl: [''], types: ['int', 'str', 'bytes', 'list[str]', 'dict', 'None', 'bool'] },
};
const OPS = ['+', '-', '*', '==', '!=', '<', '>', '<=', '&&', '||', '&', '|', '>>', '%'];

class CodeGen {
  constructor(rng, vocab, langKey, projectIds) {
    this.rng = rng;
    this.v = vocab;
    this.L = LANGS[langKey];
    this.lang = langKey;
    const mk = (n, style) => {
      const out = [];
      for (let i = 0; i < n; i++) {
        const base = rng.pickSkew(projectIds, 2).split('_');
        out.push(styleId(base, style));
      }
      return out;
    };
    this.locals = mk(rng.range(20, 60), this.L.style);
    this.fns = mk(rng.range(15, 40), this.L.style);
    this.members = mk(rng.range(10, 30), this.L.style);
    this.typesP = mk(8, 'pascal');
    this.indentUnit =
      langKey === 'go' || (langKey === 'c' && rng.chance(0.5))
        ? '\t'
        : rng.chance(0.7)
          ? langKey === 'py' || langKey === 'java' || langKey === 'rs'
            ? '    '
            : '  '
          : '    ';
    this.recent = [];
  }
  id() {
    return this.locals[this.rng.skew(this.locals.length, 2)];
  }
  fn() {
    return this.fns[this.rng.skew(this.fns.length, 2)];
  }
  num() {
    const r = this.rng;
    return r.weighted([
      [6, () => String(r.int(10))],
      [3, () => String(r.int(1000))],
      [1, () => `0x${r.hex(r.pick([2, 4, 8]))}`],
      [1, () => String(r.pick([16, 32, 64, 256, 1024, 4096, 65536]))],
    ])();
  }
  str() {
    const r = this.rng;
    const q = this.lang === 'py' || this.lang === 'js' ? (r.chance(0.5) ? "'" : '"') : '"';
    const n = r.range(1, 6);
    const w = [];
    for (let i = 0; i < n; i++) w.push(this.v.word(r));
    return q + w.join(' ') + q;
  }
  expr(depth = 0) {
    const r = this.rng.int(100);
    if (r < 28) return this.id();
    if (r < 42) return `${this.id()}.${this.rng.pickSkew(this.members)}`;
    if (r < 58) return `${this.fn()}(${this.args()})`;
    if (r < 68) return this.num();
    if (r < 76) return this.str();
    if (r < 90 && depth < 2) return `${this.expr(depth + 1)} ${this.rng.pickSkew(OPS)} ${this.expr(depth + 1)}`;
    return `${this.id()}[${this.rng.chance(0.5) ? this.num() : this.id()}]`;
  }
  args() {
    const n = this.rng.weighted([
      [2, 0],
      [4, 1],
      [3, 2],
      [1, 3],
    ]);
    const a = [];
    for (let i = 0; i < n; i++) a.push(this.rng.chance(0.6) ? this.id() : this.expr(1));
    return a.join(', ');
  }
  header(projectName) {
    const L = this.L;
    const c = L.cmt;
    const lines = [];
    // identical license header across a project (cross-file redundancy, like real code)
    lines.push(`${c} Copyright (c) 2019-2024 The ${projectName} Authors. All rights reserved.`);
    lines.push(`${c} Use of this source code is governed by an MIT-style license that can be`);
    lines.push(`${c} found in the LICENSE file at the root of the ${projectName} repository.`);
    lines.push('');
    const n = this.rng.range(2, 9);
    for (let i = 0; i < n; i++) {
      const mod = this.rng.pickSkew(this.v.ids).replace(/_/g, '-');
      switch (this.lang) {
        case 'ts':
        case 'js':
          lines.push(`import { ${styleId(mod.split('-'), 'camel')} } from './${mod}.js';`);
          break;
        case 'c':
          lines.push(`#include ${this.rng.chance(0.4) ? `<${mod.split('-')[0]}.h>` : `"${mod}.h"`}`);
          break;
        case 'go':
          lines.push(`import "${projectName}/internal/${mod}"`);
          break;
        case 'rs':
          lines.push(`use crate::${mod.replace(/-/g, '_')}::${styleId(mod.split('-'), 'pascal')};`);
          break;
        case 'java':
          lines.push(`import org.${projectName.replace(/-/g, '')}.${mod.replace(/-/g, '.')};`);
          break;
        case 'py':
          lines.push(this.rng.chance(0.5) ? `import ${mod.replace(/-/g, '_')}` : `from .${mod.replace(/-/g, '_')} import ${this.id()}`);
          break;
      }
    }
    lines.push('');
    return lines;
  }
  fnHead() {
    const r = this.rng;
    const name = this.fn();
    const nargs = r.range(0, 4);
    const args = [];
    const L = this.L;
    for (let i = 0; i < nargs; i++) {
      const a = this.id();
      switch (this.lang) {
        case 'ts':
          args.push(`${a}: ${r.pickSkew(L.types)}`);
          break;
        case 'c':
        case 'java':
          args.push(`${r.pickSkew(L.types)} ${a}`);
          break;
        case 'go':
          args.push(`${a} ${r.pickSkew(L.types)}`);
          break;
        case 'rs':
          args.push(`${a}: ${r.pickSkew(L.types)}`);
          break;
        default:
          args.push(a);
      }
    }
    const as = args.join(', ');
    switch (this.lang) {
      case 'ts':
        return `${r.chance(0.5) ? 'export ' : ''}${r.chance(0.3) ? 'async ' : ''}function ${name}(${as}): ${r.pickSkew(L.types)} {`;
      case 'js':
        return `${r.chance(0.5) ? 'export ' : ''}function ${name}(${as}) {`;
      case 'c':
        return `${r.chance(0.4) ? 'static ' : ''}${r.pickSkew(L.types)} ${name}(${as || 'void'}) {`;
      case 'go':
        return `func ${r.chance(0.4) ? `(s *${r.pick(this.typesP)}) ` : ''}${cap(name)}(${as}) ${r.pickSkew(L.types)} {`;
      case 'rs':
        return `${r.chance(0.5) ? 'pub ' : ''}fn ${name}(${as}) -> ${r.pickSkew(L.types)} {`;
      case 'java':
        return `${r.pick(['public', 'private', 'protected'])} ${r.chance(0.3) ? 'static ' : ''}${r.pickSkew(L.types)} ${name}(${as}) {`;
      case 'py':
        return `def ${name}(${r.chance(0.4) ? `self${as ? ', ' : ''}` : ''}${as}):`;
    }
    return '';
  }
  stmt() {
    const r = this.rng;
    const L = this.L;
    const semi = this.lang === 'py' || this.lang === 'go' ? '' : ';';
    const k = r.int(100);
    if (k < 30) {
      const decl = r.pickSkew(L.decl);
      if (this.lang === 'go' && r.chance(0.7)) return `${this.id()} := ${this.expr()}`;
      return `${decl ? `${decl} ` : ''}${this.id()} = ${this.expr()}${semi}`;
    }
    if (k < 50) return `${r.chance(0.5) ? `${this.id()}.` : ''}${this.fn()}(${this.args()})${semi}`;
    if (k < 58) return `${this.id()} ${r.pick(['+=', '-=', '|=', '='])} ${this.expr(1)}${semi}`;
    if (k < 68) return `${L.cmt} ${this.v.sentence(r, 3, 12)}`;
    if (k < 74) return `return ${this.expr()}${semi}`;
    if (k < 79)
      return `${this.lang === 'py' ? 'raise ' : this.lang === 'go' ? 'return ' : this.lang === 'rs' ? 'return Err(' : 'throw new '}${this.lang === 'go' ? `fmt.Errorf(${this.str()})` : `${r.pick(['Error', 'ValueError', 'IOException', 'RangeError', 'Error'])}(${this.str()})`}${this.lang === 'rs' ? ')' : ''}${semi}`;
    return `${r.chance(0.5) ? 'log' : this.id()}.${r.pick(['debug', 'info', 'warn', 'push', 'add', 'set', 'get'])}(${this.str()}, ${this.id()})${semi}`;
  }
  blockHead() {
    const r = this.rng;
    const cond = `${this.expr(1)} ${r.pick(['==', '!=', '<', '>', '>='])} ${r.chance(0.5) ? this.num() : this.id()}`;
    const i = this.id();
    switch (this.lang) {
      case 'py':
        return r.weighted([
          [5, `if ${cond.replace(/&&/g, 'and').replace(/\|\|/g, 'or')}:`],
          [3, `for ${i} in ${this.id()}:`],
          [1, `while ${this.id()}:`],
          [1, 'try:'],
          [1, `with open(${this.id()}) as ${i}:`],
        ]);
      case 'go':
        return r.weighted([
          [5, `if ${cond} {`],
          [3, `for _, ${i} := range ${this.id()} {`],
          [1, `if err != nil {`],
          [1, `switch ${i} {`],
        ]);
      case 'rs':
        return r.weighted([
          [5, `if ${cond} {`],
          [3, `for ${i} in ${this.id()}.iter() {`],
          [1, `match ${i} {`],
          [1, `while let Some(${i}) = ${this.id()}.next() {`],
        ]);
      default:
        return r.weighted([
          [5, `if (${cond}) {`],
          [3, `for (${this.lang === 'c' ? 'size_t' : this.lang === 'java' ? 'int' : 'let'} ${i} = 0; ${i} < ${this.id()}; ${i}++) {`],
          [1, `while (${this.id()}) {`],
          [1, `} else {`],
          [1, 'try {'],
        ]);
    }
  }
  /** generate approx `target` chars of source code */
  generate(target, projectName) {
    const r = this.rng;
    const lines = this.header(projectName);
    let len = 0;
    for (const l of lines) len += l.length + 1;
    let depth = 0;
    const ind = [''];
    for (let i = 1; i < 12; i++) ind.push(ind[i - 1] + this.indentUnit);
    const recent = this.recent;
    const braces = this.L.braces;
    while (len < target) {
      let line;
      if (depth === 0) {
        if (r.chance(0.5)) {
          lines.push('');
          const c = this.lang === 'py' ? '#' : this.L.cmt;
          const n = r.range(1, 4);
          for (let i = 0; i < n; i++) {
            const l = `${c} ${this.v.sentence(r, 4, 14)}`;
            lines.push(l);
            len += l.length + 1;
          }
        }
        line = this.fnHead();
        lines.push(line);
        len += line.length + 1;
        depth = 1;
        continue;
      }
      const k = r.int(100);
      if (k < 12 && recent.length > 8) {
        // repeat a recent line (possibly with a tweak), as real code does
        line = recent[r.skew(recent.length, 2)];
        if (r.chance(0.4)) line = line.replace(/\b[a-z]\w*\b/, this.id());
        line = ind[depth] + line;
      } else if (k < 20 && depth < 5) {
        line = ind[depth] + this.blockHead();
        depth++;
      } else if (k < 20 + depth * 4) {
        depth--;
        line = braces ? `${ind[depth]}}` : '';
        if (depth === 0 && this.lang === 'c' && r.chance(0.2)) line = '}\n';
      } else if (k < 92) {
        const s = this.stmt();
        recent.push(s);
        if (recent.length > 64) recent.shift();
        line = ind[depth] + s;
      } else {
        line = '';
      }
      lines.push(line);
      len += line.length + 1;
    }
    while (depth > 0 && braces) {
      depth--;
      lines.push(`${ind[depth]}}`);
    }
    return `${lines.join('\n')}\n`;
  }
}

function genProse(rng, vocab, target, kind = 'md') {
  const out = [];
  let len = 0;
  const push = (s) => {
    out.push(s);
    len += s.length + 1;
  };
  if (kind === 'md') {
    push(`# ${cap(vocab.sentence(rng, 2, 6).replace(/[.?!:]$/, ''))}`);
    push('');
  }
  while (len < target) {
    const k = rng.int(100);
    if (kind === 'md' && k < 8) {
      push(`${'#'.repeat(rng.range(2, 4))} ${cap(vocab.sentence(rng, 2, 6).replace(/[.?!:,]$/, ''))}`);
      push('');
    } else if (kind === 'md' && k < 16) {
      const n = rng.range(2, 7);
      for (let i = 0; i < n; i++) push(`- ${vocab.sentence(rng, 3, 12)}`);
      push('');
    } else if (kind === 'md' && k < 20) {
      push('```');
      const n = rng.range(2, 10);
      for (let i = 0; i < n; i++) push(`${rng.pickSkew(TECH)} --${rng.pickSkew(TECH)} ${rng.int(100)} ${rng.pickSkew(vocab.ids)}`);
      push('```');
      push('');
    } else {
      // wrap paragraph at ~80 columns
      const p = vocab.paragraph(rng);
      if (kind === 'txt' && rng.chance(0.5)) {
        let lineS = '';
        for (const w of p.split(' ')) {
          if (lineS.length + w.length + 1 > 78) {
            push(lineS);
            lineS = w;
          } else lineS = lineS ? `${lineS} ${w}` : w;
        }
        if (lineS) push(lineS);
      } else push(p);
      push('');
    }
  }
  return out.join('\n');
}

// structured data: JSON, NDJSON, CSV, logs
const LEVELS = [
  [70, 'INFO'],
  [15, 'DEBUG'],
  [10, 'WARN'],
  [4, 'ERROR'],
  [1, 'FATAL'],
];
const METHODS = [
  [60, 'GET'],
  [25, 'POST'],
  [8, 'PUT'],
  [5, 'DELETE'],
  [2, 'PATCH'],
];
const STATUS = [
  [80, 200],
  [6, 201],
  [5, 304],
  [4, 404],
  [2, 400],
  [2, 500],
  [1, 503],
];

function isoTime(ms) {
  return new Date(ms).toISOString();
}

function genStructured(rng, vocab, target, kind) {
  const out = [];
  let len = 0;
  let t = Date.UTC(2023, 0, 1) + rng.int(300 * 86400) * 1000;
  const comps = [];
  for (let i = 0; i < 12; i++) comps.push(`${rng.pick(TECH)}-${rng.pick(['svc', 'worker', 'api', 'db', 'cache', 'gw'])}`);
  const users = [];
  for (let i = 0; i < 200; i++) users.push(`${rng.pick(EN)}.${rng.pick(TECH)}${rng.int(100)}`);
  const push = (s) => {
    out.push(s);
    len += s.length + 1;
  };
  let id = rng.int(100000);
  switch (kind) {
    case 'log': {
      while (len < target) {
        t += rng.int(2000);
        const lvl = rng.weighted(LEVELS);
        const comp = rng.pickSkew(comps);
        if (rng.chance(0.6)) {
          push(
            `${isoTime(t)} ${lvl.padEnd(5)} [${comp}-${rng.int(8)}] ${rng.weighted(METHODS)} /api/v${rng.range(1, 2)}/${rng.pickSkew(TECH)}s/${rng.int(5000)} status=${rng.weighted(STATUS)} duration_ms=${(rng.int(20000) / 100).toFixed(2)} bytes=${rng.int(65536)} ip=10.${rng.int(4)}.${rng.int(256)}.${rng.int(256)} req=${rng.hex(12)}`,
          );
        } else {
          push(
            `${isoTime(t)} ${lvl.padEnd(5)} [${comp}-${rng.int(8)}] ${vocab.sentence(rng, 3, 10)} ${rng.pickSkew(TECH)}=${rng.int(10000)} user=${rng.pickSkew(users)}`,
          );
        }
      }
      break;
    }
    case 'csv': {
      push('id,timestamp,user,category,quantity,unit_price,total,region,flag');
      const cats = TECH.slice(0, 30);
      while (len < target) {
        t += rng.int(600000);
        const q = rng.range(1, 50);
        const p = rng.int(100000) / 100;
        push(
          `${id++},${isoTime(t)},${rng.pickSkew(users)},${rng.pickSkew(cats)},${q},${p.toFixed(2)},${(q * p).toFixed(2)},${rng.pick(['eu-west', 'us-east', 'ap-south', 'sa-east'])},${rng.chance(0.9) ? 'true' : 'false'}`,
        );
      }
      break;
    }
    case 'ndjson': {
      while (len < target) {
        t += rng.int(5000);
        push(
          JSON.stringify({
            ts: t,
            event: `${rng.pickSkew(TECH)}.${rng.pick(['created', 'updated', 'deleted', 'viewed'])}`,
            user: rng.pickSkew(users),
            session: rng.hex(16),
            value: rng.int(1000000) / 1000,
            ok: rng.chance(0.95),
          }),
        );
      }
      break;
    }
    default: {
      // pretty-printed JSON array of records
      push('[');
      let first = true;
      while (len < target) {
        t += rng.int(86400000);
        const rec = {
          id: id++,
          name: `${cap(vocab.word(rng))} ${cap(vocab.word(rng))}`,
          email: `${rng.pickSkew(users)}@example.${rng.pick(['com', 'org', 'net'])}`,
          created: isoTime(t),
          balance: Math.round(rng.int(10000000)) / 100,
          active: rng.chance(0.8),
          tags: Array.from({ length: rng.int(4) }, () => rng.pickSkew(TECH)),
          address: { city: rng.pick(['Berlin', 'Lisbon', 'Oslo', 'Zürich', 'Kraków', 'Montréal', 'Austin', 'Osaka']), zip: String(rng.range(10000, 99999)) },
          score: rng.int(1000) / 10,
        };
        const s = JSON.stringify(rec, null, 2).replace(/^/gm, '  ');
        push((first ? '' : ',\n') + s);
        first = false;
      }
      push(']');
    }
  }
  return `${out.join('\n')}\n`;
}

// executable-like binary content
const OPCODES = [
  0x48, 0x89, 0x8b, 0xe8, 0xff, 0x0f, 0x85, 0x84, 0xc3, 0x00, 0x24, 0x45, 0x5d, 0x55, 0x41, 0x83, 0xc7, 0x74, 0x75, 0xeb, 0x31, 0xc0, 0x8d, 0x44, 0x4c, 0x39,
  0x01, 0x10, 0x20, 0x08, 0x50, 0x53, 0x5b, 0xe9, 0x66, 0x90, 0xcc, 0xf3, 0xc1, 0x63,
];

function genBinaryInto(rng, vocab, buf, start, end, withHeader) {
  let pos = start;
  if (withHeader) {
    const kind = rng.int(4);
    const hdr = [
      [0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0], // ELF
      [0x4d, 0x5a, 0x90, 0, 3, 0, 0, 0], // MZ
      [0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1], // Mach-O 64
      [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0], // wasm
    ][kind];
    for (let i = 0; i < hdr.length && pos < end; i++) buf[pos++] = hdr[i];
    // some header fields
    for (let i = 0; i < 56 && pos < end; i++) buf[pos++] = i % 8 < 2 ? rng.int(256) : 0;
  }
  // per-file "instruction dictionary"
  const dict = [];
  for (let i = 0; i < 256; i++) {
    const n = rng.range(1, 6);
    const ins = new Uint8Array(n);
    for (let j = 0; j < n; j++) ins[j] = OPCODES[rng.skew(OPCODES.length, 2)];
    dict.push(ins);
  }
  while (pos < end) {
    const kind = rng.weighted([
      [48, 'code'],
      [16, 'str'],
      [16, 'data'],
      [7, 'rand'],
      [13, 'zero'],
    ]);
    const len = Math.min(end - pos, rng.logSize(256, 64 * KiB));
    const stop = pos + len;
    switch (kind) {
      case 'code':
        while (pos < stop) {
          const ins = dict[rng.skew(256, 2)];
          for (let j = 0; j < ins.length && pos < stop; j++) buf[pos++] = ins[j];
          const x = rng.next();
          const op = x & 7;
          if (op < 3 && pos < stop)
            buf[pos++] = (x >>> 8) & 0xff; // disp8 / imm8
          else if (op === 3) {
            // rel32: low bytes random, high bytes sign
            const hi = x & 0x80000000 ? 0xff : 0;
            const b = [(x >>> 8) & 0xff, (x >>> 16) & 0x0f, hi, hi];
            for (let j = 0; j < 4 && pos < stop; j++) buf[pos++] = b[j];
          }
        }
        break;
      case 'str':
        while (pos < stop) {
          const s = rng.chance(0.5) ? rng.pickSkew(vocab.ids) : vocab.sentence(rng, 2, 8);
          for (let j = 0; j < s.length && pos < stop; j++) buf[pos++] = s.charCodeAt(j) & 0x7f;
          if (pos < stop) buf[pos++] = 0;
        }
        break;
      case 'data': {
        const baseAddr = rng.next() & 0x00fff000;
        while (pos + 4 <= stop) {
          const v = rng.chance(0.5) ? baseAddr + rng.int(0x10000) * 8 : rng.int(rng.chance(0.8) ? 256 : 65536);
          buf[pos] = v & 255;
          buf[pos + 1] = (v >>> 8) & 255;
          buf[pos + 2] = (v >>> 16) & 255;
          buf[pos + 3] = (v >>> 24) & 255;
          pos += 4;
        }
        pos = stop;
        break;
      }
      case 'rand':
        rng.fill(buf, pos, stop);
        pos = stop;
        break;
      default: {
        // zero padding up to the next 4 KiB boundary (buffer is zero-initialised)
        const aligned = Math.min(end, (Math.floor((pos - start) / 4096) + 1) * 4096 + start);
        for (let i = pos; i < Math.min(stop, aligned); i++) buf[i] = 0;
        pos = Math.min(stop, aligned);
      }
    }
  }
  return buf;
}

// ───────────────────────────── output tracking ─────────────────────────────

class Out {
  constructor(root, seed) {
    this.root = root;
    this.seed = seed;
    this.stats = { files: 0, dirs: 0, links: 0, bytes: 0 };
    this.dirs = new Set(['']);
    this.dirList = [];
    this.used = new Set(); // lower-cased rel paths (avoid case-only collisions)
    this.dirMode = new Map();
  }
  abs(rel) {
    return path.join(this.root, rel);
  }
  mkdir(rel, mode = 0o755) {
    if (this.dirs.has(rel)) return;
    const parent = path.posix.dirname(rel);
    if (parent !== '.' && parent !== rel) this.mkdir(parent);
    fs.mkdirSync(this.abs(rel));
    this.dirs.add(rel);
    this.used.add(rel.toLowerCase());
    this.dirList.push(rel);
    this.dirMode.set(rel, mode);
    this.stats.dirs++;
  }
  unique(rel) {
    let p = rel;
    const ext = path.posix.extname(rel);
    const stem = ext && ext !== rel ? rel.slice(0, -ext.length) : rel;
    for (let i = 2; this.used.has(p.toLowerCase()); i++) p = `${stem}-${i}${ext === rel ? '' : ext}`;
    this.used.add(p.toLowerCase());
    return p;
  }
  /** pick a not-yet-used child dir name under parent */
  uniqueDirName(parent, name) {
    let p = parent ? `${parent}/${name}` : name;
    for (let i = 2; this.used.has(p.toLowerCase()); i++) p = `${parent ? `${parent}/` : ''}${name}${i}`;
    return p;
  }
  file(rel, data, mode, mtime) {
    const dir = path.posix.dirname(rel);
    if (dir !== '.') this.mkdir(dir);
    rel = this.unique(rel);
    const a = this.abs(rel);
    fs.writeFileSync(a, data);
    this.finishFile(rel, typeof data === 'string' ? Buffer.byteLength(data) : data.length, mode, mtime);
    return rel;
  }
  finishFile(rel, size, mode, mtime) {
    const a = this.abs(rel);
    fs.chmodSync(a, mode);
    fs.utimesSync(a, mtime, mtime);
    this.stats.files++;
    this.stats.bytes += size;
  }
  /** streamed file: gen(write) calls write(buf) repeatedly */
  stream(rel, mode, mtime, gen) {
    const dir = path.posix.dirname(rel);
    if (dir !== '.') this.mkdir(dir);
    rel = this.unique(rel);
    const fd = fs.openSync(this.abs(rel), 'w');
    let size = 0;
    try {
      gen((buf, n = buf.length) => {
        let off = 0;
        while (off < n) off += fs.writeSync(fd, buf, off, n - off);
        size += n;
      });
    } finally {
      fs.closeSync(fd);
    }
    this.finishFile(rel, size, mode, mtime);
    return { rel, size };
  }
  copy(fromRel, toRel, mode, mtime) {
    const dir = path.posix.dirname(toRel);
    if (dir !== '.') this.mkdir(dir);
    toRel = this.unique(toRel);
    fs.copyFileSync(this.abs(fromRel), this.abs(toRel));
    this.finishFile(toRel, fs.statSync(this.abs(toRel)).size, mode, mtime);
    return toRel;
  }
  symlink(rel, target, mtime) {
    const dir = path.posix.dirname(rel);
    if (dir !== '.') this.mkdir(dir);
    rel = this.unique(rel);
    fs.symlinkSync(target, this.abs(rel));
    try {
      fs.lutimesSync(this.abs(rel), mtime, mtime);
    } catch {
      /* lutimes unsupported: leave link mtime */
    }
    this.stats.links++;
    return rel;
  }
  /** deterministic directory modes and mtimes, applied deepest-first once everything exists */
  finalizeDirs() {
    const list = [...this.dirList].sort((a, b) => b.split('/').length - a.split('/').length || (a < b ? -1 : a > b ? 1 : 0));
    for (const rel of list) {
      const a = this.abs(rel);
      fs.chmodSync(a, this.dirMode.get(rel) ?? 0o755);
      const mt = BASE_TIME + (hash32(rel, hash32(this.seed)) % SPAN);
      fs.utimesSync(a, mt, mt);
    }
  }
}

const BASE_TIME = Date.UTC(2019, 0, 1) / 1000;
const SPAN = 5 * 365 * 86400;
function mtime(rng) {
  return BASE_TIME + rng.int(SPAN);
}

function relLink(fromRel, toRel) {
  return path.posix.relative(path.posix.dirname(fromRel), toRel) || '.';
}

// ───────────────────────────── categories ─────────────────────────────

const BIG_CHUNK = 4 * MiB;

function genText(out, rng, vocab, budget, ctx) {
  let used = 0;
  const docsBudget = Math.floor(budget * 0.2);
  const nProjects = Math.max(2, Math.min(40, Math.round(budget / (24 * MiB))));
  const langKeys = Object.keys(LANGS);
  const projects = [];
  for (let i = 0; i < nProjects; i++) {
    const name = `${rng.pick(TECH)}-${rng.pick(TECH)}`;
    const lang = langKeys[i % langKeys.length];
    const ids = [];
    for (let j = 0; j < 400; j++) ids.push(rng.pickSkew(vocab.ids, 2));
    const mods = [];
    const nm = rng.range(3, 10);
    for (let j = 0; j < nm; j++) mods.push(rng.pickSkew(TECH) + (rng.chance(0.3) ? `/${rng.pick(TECH)}` : ''));
    projects.push({ name, lang, ids, mods, dir: out.uniqueDirName('src', name) });
    out.mkdir(projects[i].dir);
  }
  // empty build dirs and __init__.py empties
  for (const p of projects) {
    if (rng.chance(0.6)) out.mkdir(`${p.dir}/build`);
    out.file(`${p.dir}/.gitkeep`, '', 0o644, mtime(rng));
  }
  // docs (prose)
  const docTopics = ['guide', 'design', 'notes', 'rfcs', 'meetings', 'Übersicht', 'références', '報告'];
  let firstDoc = null;
  while (used < docsBudget) {
    const size = Math.min(docsBudget - used, rng.logSize(KiB, 200 * KiB, true));
    const kind = rng.chance(0.6) ? 'md' : 'txt';
    const s = genProse(rng, vocab, size, kind);
    const buf = clipLines(Buffer.from(s), size);
    const name = `${rng.pickSkew(TECH)}-${rng.pickSkew(vocab.words)}${rng.chance(0.1) ? ` ${rng.pick(['draft', 'final', '(copy)', 'v2'])}` : ''}.${kind}`;
    const rel = out.file(`docs/${rng.pickSkew(docTopics)}/${name}`, buf, rng.chance(0.05) ? 0o600 : 0o644, mtime(rng));
    firstDoc ??= rel;
    used += buf.length;
  }
  ctx.firstDoc = firstDoc;
  // source code
  ctx.srcFiles = [];
  while (used < budget) {
    const p = projects[rng.skew(projects.length, 2)];
    const size = Math.min(budget - used, rng.logSize(KiB, 200 * KiB, true));
    const langKey = rng.chance(0.85) ? p.lang : rng.pick(langKeys);
    let data;
    let ext;
    if (rng.chance(0.06)) {
      ext = 'md';
      data = genProse(rng, vocab, size, 'md');
    } else {
      const g = new CodeGen(rng, vocab, langKey, p.ids);
      data = g.generate(size, p.name);
      ext = langKey === 'c' && rng.chance(0.3) ? 'h' : LANGS[langKey].ext;
    }
    const buf = clipLines(Buffer.from(data), size);
    const base =
      ext === 'md'
        ? rng.pick(['README', 'CHANGELOG', 'CONTRIBUTING', 'notes'])
        : styleId([rng.pickSkew(TECH), rng.pickSkew(TECH)], LANGS[langKey].style === 'camel' && langKey !== 'go' ? 'camel' : 'snake');
    const rel = `${p.dir}/${rng.chance(0.85) ? 'src/' : 'test/'}${rng.pickSkew(p.mods)}/${base}.${ext}`;
    const mode = langKey === 'py' && rng.chance(0.3) ? 0o755 : rng.chance(0.03) ? 0o600 : 0o644;
    const written = out.file(rel, buf, mode, mtime(rng));
    ctx.srcFiles.push(written);
    if (langKey === 'py' && rng.chance(0.3)) out.file(`${path.posix.dirname(written)}/__init__.py`, '', 0o644, mtime(rng));
    used += buf.length;
  }
  return used;
}

function clipLines(buf, size) {
  if (buf.length <= size) return buf;
  let cut = buf.lastIndexOf(10, size - 1);
  if (cut < size / 2) cut = size - 1;
  return buf.subarray(0, cut + 1);
}

function genDocs(out, rng, vocab, budget) {
  let used = 0;
  const hi = Math.max(16 * KiB, Math.min(8 * MiB, Math.floor(budget / 6)));
  let logSeq = 0;
  while (used < budget) {
    const size = Math.min(budget - used, rng.logSize(4 * KiB, hi));
    const kind = rng.weighted([
      [3, 'json'],
      [2, 'ndjson'],
      [3, 'csv'],
      [4, 'log'],
    ]);
    const buf = clipLines(Buffer.from(genStructured(rng, vocab, size, kind)), size);
    let rel;
    switch (kind) {
      case 'log':
        rel = `data/logs/${rng.pick(['app', 'access', 'worker', 'sync'])}.log${logSeq++ ? `.${logSeq}` : ''}`;
        break;
      case 'csv':
        rel = `data/exports/${rng.pickSkew(TECH)}_${2020 + rng.int(5)}-${String(rng.range(1, 12)).padStart(2, '0')}.csv`;
        break;
      case 'ndjson':
        rel = `data/events/${rng.pickSkew(TECH)}-events.ndjson`;
        break;
      default:
        rel = `data/json/${rng.pickSkew(TECH)}-${rng.pickSkew(TECH)}.json`;
    }
    out.file(rel, buf, rng.chance(0.1) ? 0o600 : 0o644, mtime(rng));
    used += buf.length;
  }
  return used;
}

function genBinaries(out, rng, vocab, budget, ctx) {
  let used = 0;
  const hi = Math.max(32 * KiB, Math.min(16 * MiB, Math.floor(budget / 6)));
  const lo = Math.min(16 * KiB, Math.floor(hi / 4));
  ctx.libs = [];
  while (used < budget) {
    const size = Math.min(budget - used, rng.logSize(lo, hi));
    const buf = genBinaryInto(rng, vocab, Buffer.alloc(size), 0, size, true);
    const kind = rng.weighted([
      [4, 'bin'],
      [4, 'so'],
      [1, 'a'],
      [2, 'exe'],
      [1, 'dll'],
      [1, 'wasm'],
    ]);
    const nm = `${rng.pickSkew(TECH)}${rng.chance(0.5) ? `-${rng.pickSkew(TECH)}` : ''}`;
    let rel;
    let mode = 0o755;
    switch (kind) {
      case 'bin':
        rel = `bin/${nm}`;
        break;
      case 'so':
        rel = `lib/lib${nm}.so.${rng.int(4)}.${rng.int(20)}.${rng.int(10)}`;
        break;
      case 'a':
        rel = `lib/lib${nm}.a`;
        mode = 0o644;
        break;
      case 'exe':
        rel = `tools/win/${nm}.exe`;
        mode = 0o644;
        break;
      case 'dll':
        rel = `tools/win/${nm}.dll`;
        mode = 0o644;
        break;
      default:
        rel = `tools/wasm/${nm}.wasm`;
        mode = 0o644;
    }
    rel = out.file(rel, buf, mode, mtime(rng));
    if (kind === 'so') ctx.libs.push(rel);
    if (kind === 'bin') ctx.bins = (ctx.bins ?? []).concat(rel);
    used += size;
  }
  return used;
}

const MEDIA = {
  jpg: [0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x48, 0x00, 0x48, 0x00, 0x00],
  png: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52],
  mp4: [0, 0, 0, 0x20, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6f, 0x6d, 0, 0, 2, 0, 0x69, 0x73, 0x6f, 0x6d, 0x69, 0x73, 0x6f, 0x32],
  zip: [0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0, 0, 0x08, 0],
  gz: [0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x02, 0x03],
};

function writeRandomFile(out, rng, rel, size, header, mode, mt) {
  return out.stream(rel, mode, mt, (write) => {
    const buf = Buffer.alloc(Math.min(size, BIG_CHUNK));
    let left = size;
    let first = true;
    while (left > 0) {
      const n = Math.min(left, buf.length);
      rng.fill(buf, 0, n);
      if (first && header) for (let i = 0; i < header.length && i < n; i++) buf[i] = header[i];
      first = false;
      write(buf, n);
      left -= n;
    }
  });
}

function genMedia(out, rng, budget) {
  let used = 0;
  const hi = Math.max(64 * KiB, Math.min(40 * MiB, Math.floor(budget / 4)));
  const lo = Math.min(2 * MiB, Math.floor(hi / 4));
  const made = [];
  let n = 0;
  while (used < budget) {
    if (made.length > 2 && rng.chance(0.08)) {
      // an exact duplicate (e.g. a photo copied into a backup folder)
      const src = rng.pick(made);
      if (src.size <= budget - used) {
        const rel = out.copy(src.rel, `media/backup/${path.posix.basename(src.rel)}`, 0o644, mtime(rng));
        made.push({ rel, size: src.size });
        used += src.size;
        continue;
      }
    }
    const kind = rng.weighted([
      [5, 'jpg'],
      [2, 'png'],
      [3, 'mp4'],
      [2, 'zip'],
      [2, 'gz'],
    ]);
    let size = Math.min(budget - used, rng.logSize(lo, hi));
    if (kind === 'jpg' || kind === 'png') size = Math.min(size, Math.max(lo, Math.floor(hi / 3)));
    n++;
    const d = `${2018 + rng.int(7)}-${String(rng.range(1, 12)).padStart(2, '0')}`;
    let rel;
    switch (kind) {
      case 'jpg':
        rel = `media/photos/${d}/IMG_${String(1000 + n * 7 + rng.int(7)).padStart(4, '0')}.jpg`;
        break;
      case 'png':
        rel = `media/screenshots/Screenshot ${d}-${String(rng.range(1, 28)).padStart(2, '0')} at ${rng.range(10, 23)}.${rng.range(10, 59)}.png`;
        break;
      case 'mp4':
        rel = `media/videos/VID_${d.replace('-', '')}${String(rng.range(1, 28)).padStart(2, '0')}_${rng.hex(6)}.mp4`;
        break;
      case 'zip':
        rel = `archives/${rng.pickSkew(TECH)}-${rng.int(10)}.${rng.int(20)}.zip`;
        break;
      default:
        rel = `archives/${rng.pickSkew(TECH)}-dump-${d}.tar.gz`;
    }
    const r = writeRandomFile(out, rng, rel, size, MEDIA[kind], rng.chance(0.15) ? 0o600 : 0o644, mtime(rng));
    made.push(r);
    used += size;
  }
  return used;
}

const BOILERPLATE = [
  [
    'LICENSE',
    'MIT License\n\nCopyright (c) 2021\n\nPermission is hereby granted, free of charge, to any person obtaining a copy\nof this software and associated documentation files (the "Software"), to deal\nin the Software without restriction, including without limitation the rights\nto use, copy, modify, merge, publish, distribute, sublicense, and/or sell\ncopies of the Software.\n',
  ],
  ['.gitignore', 'node_modules/\ndist/\n*.log\n.DS_Store\ncoverage/\n'],
  ['.editorconfig', 'root = true\n\n[*]\nindent_style = space\nindent_size = 2\nend_of_line = lf\ninsert_final_newline = true\n'],
  ['.npmignore', 'test/\n*.map\n'],
];

function genSmall(out, rng, vocab, budget, ctx) {
  let used = 0;
  const estFiles = Math.max(20, Math.floor(budget / 2800));
  const nDirs = Math.max(6, Math.floor(estFiles / 6));
  const dirs = ['deep'];
  const depth = [0];
  out.mkdir('deep');
  const dirNames = [
    'node_modules',
    'lib',
    'src',
    'dist',
    'cjs',
    'esm',
    'internal',
    'utils',
    'helpers',
    'vendor',
    'cur',
    'new',
    'tmp',
    '@types',
    'locales',
    'assets',
    'icons',
    'objects',
  ];
  for (let i = 1; i < nDirs; i++) {
    // bias toward recently created dirs → long chains (deep nesting)
    let pi = dirs.length - 1 - rng.skew(dirs.length, 3);
    if (depth[pi] >= 18) pi = rng.int(dirs.length);
    const name = rng.chance(0.4)
      ? rng.pick(dirNames)
      : rng.chance(0.5)
        ? `${rng.pickSkew(TECH)}-${rng.pickSkew(TECH)}`
        : rng.chance(0.3)
          ? rng.hex(2)
          : rng.pickSkew(TECH);
    const rel = out.uniqueDirName(dirs[pi], name);
    out.mkdir(rel, rng.chance(0.02) ? 0o700 : 0o755);
    dirs.push(rel);
    depth.push(depth[pi] + 1);
  }
  ctx.deepDirs = dirs;
  while (used < budget) {
    const size = Math.min(budget - used, rng.logSize(100, 8 * KiB));
    const dir = dirs[rng.int(dirs.length)];
    const k = rng.int(100);
    let rel;
    let data;
    let mode = 0o644;
    if (k < 40) {
      const lang = rng.pick(['ts', 'js', 'js', 'py', 'c']);
      const g = new CodeGen(rng, vocab, lang, vocab.ids);
      g.locals = g.locals.slice(0, 12);
      data = clipLines(Buffer.from(g.generate(size, 'vendor')), size);
      rel = `${dir}/${rng.pickSkew(TECH)}${rng.chance(0.3) ? '.min' : ''}.${LANGS[lang].ext}`;
    } else if (k < 55) {
      data = clipLines(Buffer.from(genStructured(rng, vocab, size, rng.chance(0.5) ? 'json' : 'ndjson')), size);
      rel = `${dir}/${rng.pick(['package', 'config', 'settings', 'manifest', rng.pickSkew(TECH)])}.json`;
    } else if (k < 68) {
      data = rng.bytes(size);
      if (rng.chance(0.5)) {
        for (let i = 0; i < MEDIA.png.length && i < size; i++) data[i] = MEDIA.png[i];
        rel = `${dir}/${rng.pickSkew(TECH)}-${rng.pick([16, 24, 32, 48, 64])}.png`;
      } else rel = `${dir}/${rng.hex(38)}`; // git-object-like name, zlib-like content
      if (rng.chance(0.3)) mode = 0o600;
    } else if (k < 78) {
      const [name, text] = BOILERPLATE[rng.skew(BOILERPLATE.length, 2)];
      data = Buffer.from(text);
      rel = `${dir}/${name}`;
    } else if (k < 86) {
      data = clipLines(Buffer.from(genProse(rng, vocab, size, 'md')), size);
      rel = `${dir}/${rng.pick(['README', 'CHANGELOG', 'HISTORY', 'notes'])}.md`;
    } else if (k < 92) {
      const lines = ['#!/bin/sh', 'set -eu', ''];
      let l = 20;
      while (l < size) {
        const s = `${rng.pick(['echo', 'cp', 'mkdir -p', 'rm -f', 'test -f', 'exec'])} "$${rng.pick(['HOME', 'PREFIX', 'DESTDIR', '1'])}/${rng.pickSkew(TECH)}/${rng.pickSkew(TECH)}"`;
        lines.push(s);
        l += s.length + 1;
      }
      data = clipLines(Buffer.from(`${lines.join('\n')}\n`), size);
      rel = `${dir}/${rng.pickSkew(TECH)}.sh`;
      mode = 0o755;
    } else {
      const lines = [];
      let l = 0;
      while (l < size) {
        const s = `${rng.pickSkew(TECH)}${rng.chance(0.3) ? `_${rng.pickSkew(TECH)}` : ''}: ${rng.chance(0.5) ? rng.int(1000) : rng.chance(0.5) ? 'true' : rng.pickSkew(TECH)}`;
        lines.push((rng.chance(0.4) ? '  ' : '') + s);
        l += s.length + 1;
      }
      data = clipLines(Buffer.from(`${lines.join('\n')}\n`), size);
      rel = `${dir}/${rng.pick(['config', 'values', 'ci', '.travis', 'docker-compose'])}.yml`;
    }
    const written = out.file(rel, data, mode, mtime(rng));
    ctx.smallFiles = ctx.smallFiles ?? [];
    if (ctx.smallFiles.length < 50) ctx.smallFiles.push(written);
    used += data.length;
  }
  return used;
}

function genLarge(out, rng, vocab, budget, ctx) {
  let used = 0;
  const imgSize = Math.floor(budget * 0.6);
  const dbSize = Math.floor(budget * 0.25);
  const tarSize = budget - imgSize - dbSize;
  // 1) VM disk image: mixture of regions, incl. repeats of earlier regions at shifted offsets
  const img = out.stream('vm/disk0.img', 0o600, mtime(rng), (write) => {
    let written = 0;
    const keep = []; // a few earlier region buffers for repetition
    while (written < imgSize) {
      let len = Math.min(imgSize - written, rng.logSize(16 * KiB, Math.max(32 * KiB, Math.min(4 * MiB, Math.floor(imgSize / 8)))));
      if (len > 8 * KiB) len -= len % 4096;
      const kind = rng.weighted([
        [25, 'zero'],
        [28, 'rand'],
        [15, 'text'],
        [20, 'bin'],
        [12, 'repeat'],
      ]);
      let buf;
      if (kind === 'repeat' && keep.length) {
        const src = rng.pick(keep);
        const shift = rng.chance(0.5) ? rng.int(4096) : 0;
        buf = src.subarray(0, Math.min(src.length, len + shift)).subarray(Math.min(shift, src.length - 1));
      } else if (kind === 'text') {
        buf = clipLines(Buffer.from(genProse(rng, vocab, len, 'txt')), len);
      } else if (kind === 'bin') {
        buf = genBinaryInto(rng, vocab, Buffer.alloc(len), 0, len, rng.chance(0.3));
      } else if (kind === 'rand' || kind === 'repeat') {
        buf = rng.bytes(len);
      } else buf = Buffer.alloc(len);
      if (kind !== 'zero' && kind !== 'repeat' && buf.length <= 4 * MiB) {
        keep.push(buf);
        if (keep.length > 6) keep.splice(rng.int(keep.length), 1);
      }
      write(buf);
      written += buf.length;
    }
  });
  used += img.size;
  // 2) database-like file of 4 KiB pages
  const db = out.stream('db/app.db', 0o600, mtime(rng), (write) => {
    const page = Buffer.alloc(4096);
    const chunk = Buffer.alloc(256 * 4096);
    let written = 0;
    let rowid = 1;
    let cpos = 0;
    let t = Date.UTC(2022, 0, 1);
    const pages = Math.max(1, Math.floor(dbSize / 4096));
    for (let p = 0; p < pages; p++) {
      page.fill(0);
      if (p === 0) page.write('SQLite format 3\0', 0, 'latin1');
      else if (!rng.chance(0.12)) {
        // slotted page: header, cell pointers, records growing from the end; free space zero
        page[0] = 0x0d;
        let end = 4096;
        let slot = 8;
        const fill = 0.4 + rng.float() * 0.55;
        while (end > 4096 * (1 - fill) && slot < end - 200) {
          t += rng.int(60000);
          const rec = `${rowid}|${rng.pickSkew(vocab.ids)}|${rng.pickSkew(TECH)}|${rng.int(100000)}|${(rng.int(1000000) / 100).toFixed(2)}|${isoTime(t)}|${rng.chance(0.3) ? rng.hex(16) : vocab.sentence(rng, 2, 6)}`;
          const n = Math.min(rec.length, end - slot - 2);
          end -= n;
          page.write(rec.slice(0, n), end, 'latin1');
          page[slot++] = end >>> 8;
          page[slot++] = end & 255;
          rowid++;
        }
        page.writeUInt32LE(p, 2);
      }
      page.copy(chunk, cpos);
      cpos += 4096;
      if (cpos === chunk.length) {
        write(chunk);
        cpos = 0;
      }
      written += 4096;
    }
    if (cpos) write(chunk, cpos);
    const rest = dbSize - written;
    if (rest > 0) write(Buffer.alloc(rest));
  });
  used += db.size;
  // 3) tar-like archive of source files (dedups at 512-byte alignment against src/)
  const tar = out.stream(`backups/src-snapshot-${rng.range(2020, 2024)}.tar`, 0o644, mtime(rng), (write) => {
    let written = 0;
    const files = ctx.srcFiles ?? [];
    let i = rng.int(Math.max(1, files.length));
    while (written + 1024 < tarSize && files.length) {
      const rel = files[i++ % files.length];
      const data = fs.readFileSync(out.abs(rel));
      const sz = Math.min(data.length, tarSize - written - 1024);
      const h = Buffer.alloc(512);
      h.write(rel.slice(0, 99), 0, 'utf8');
      h.write('0000644\0', 100, 'latin1');
      h.write(`${sz.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
      h.write('ustar\0' + '00', 257, 'latin1');
      write(h);
      write(data, sz);
      const pad = (512 - (sz % 512)) % 512;
      if (pad) write(Buffer.alloc(pad));
      written += 512 + sz + pad;
    }
    if (written < tarSize) write(Buffer.alloc(tarSize - written));
  });
  used += tar.size;
  return used;
}

function genOdd(out, rng, vocab, ctx) {
  let used = 0;
  const text = (s) => Buffer.from(s);
  const put = (rel, data, mode = 0o644, mt = mtime(rng)) => {
    const r = out.file(rel, data, mode, mt);
    used += data.length;
    return r;
  };
  const small = () => text(`${vocab.paragraph(rng)}\n`);
  // odd and unicode names
  const names = [
    'file with spaces.txt',
    `it's a "quoted" name.txt`,
    '#hash & 100% sure.md',
    'emoji 🎉🚀 party.txt',
    'cafe\u0301 (NFD combining accent).txt',
    'naïve résumé (NFC).txt',
    '日本語のファイル名.txt',
    'Ελληνικά και русский.txt',
    '-leading-dash.txt',
    '.hidden-file',
    'semi;colon,comma=equals+plus@at.txt',
    'brackets [1] {2} (3) <4>.txt',
    'back\\slash.txt',
    'trailing space .txt',
    'UPPER.TXT',
    'no-extension',
    'multi.dots.in.name.tar.gz.txt',
    `long-name-${'x'.repeat(180)}-end.txt`,
  ];
  for (const n of names) put(`odd/${n}`, small(), rng.pick([0o644, 0o644, 0o755, 0o600]));
  const uni = put('odd/Ünïcødé Dïr ✨/naïve.txt', small());
  put('odd/Ünïcødé Dïr ✨/中文 目录/文件.md', small());
  // empty files and dirs
  put('odd/empty.txt', Buffer.alloc(0));
  put('odd/empty with spaces', Buffer.alloc(0), 0o600);
  put('odd/empty-exec.sh', Buffer.alloc(0), 0o755);
  out.mkdir('odd/empty-dir');
  out.mkdir('odd/empty nest/a/b/c');
  out.mkdir('odd/private-dir', 0o700);
  put('odd/private-dir/secret.env', text('API_TOKEN=not-a-real-token\n'), 0o600);
  // special mtimes
  put('odd/mtime-epoch.txt', text('mtime is 1970-01-01T00:00:00Z\n'), 0o644, 0);
  put('odd/mtime-subsecond.txt', text('mtime has a .5 s fraction\n'), 0o644, 1_500_000_000.5);
  put('odd/mtime-future.txt', text('mtime is in 2099\n'), 0o644, Date.UTC(2099, 0, 1) / 1000);
  // a mid-sized file exactly at power-of-two boundaries (chunker edge cases)
  if (ctx.total >= 64 * MiB) {
    put('odd/exact-64KiB.bin', rng.bytes(64 * KiB));
    put('odd/exact-1MiB-minus-1.bin', rng.bytes(MiB - 1));
  } else {
    put('odd/exact-4KiB.bin', rng.bytes(4 * KiB));
    put('odd/exact-64KiB-minus-1.bin', rng.bytes(64 * KiB - 1));
  }
  // symlinks (all relative)
  const lm = () => mtime(rng);
  if (ctx.firstDoc) out.symlink('odd/link-to-file', relLink('odd/link-to-file', ctx.firstDoc), lm());
  out.symlink('odd/link-to-dir', '../src', lm());
  out.symlink('odd/dangling-link', 'does/not/exist.txt', lm());
  out.symlink('odd/link to unicode 🔗', relLink('odd/x', uni), lm());
  out.symlink('odd/link-chain-1', 'link-chain-2', lm());
  out.symlink('odd/link-chain-2', 'file with spaces.txt', lm());
  out.symlink('odd/empty-dir-link', 'empty-dir', lm());
  if (ctx.bins?.length) out.symlink('bin/X11', '.', lm()); // like /usr/bin/X11 -> . (a loop)
  for (const lib of (ctx.libs ?? []).slice(0, 4)) {
    const m = /^(.*\.so)\.(\d+)\.\d+\.\d+$/.exec(lib);
    if (!m) continue;
    const major = `${m[1]}.${m[2]}`;
    if (out.used.has(major.toLowerCase()) || out.used.has(m[1].toLowerCase())) continue;
    out.symlink(major, path.posix.basename(lib), lm());
    out.symlink(m[1], path.posix.basename(major), lm());
  }
  return used;
}

// ───────────────────────────── mutate ─────────────────────────────

const TEXT_EXT = new Set(['.ts', '.js', '.c', '.h', '.go', '.rs', '.java', '.py', '.md', '.txt', '.json', '.ndjson', '.csv', '.log', '.yml', '.sh']);

function walk(root) {
  const entries = [];
  const rec = (rel) => {
    const names = fs.readdirSync(rel ? path.join(root, rel) : root).sort();
    for (const n of names) {
      const r = rel ? `${rel}/${n}` : n;
      const st = fs.lstatSync(path.join(root, r));
      if (st.isDirectory()) {
        entries.push({ rel: r, type: 'dir', st });
        rec(r);
      } else if (st.isSymbolicLink()) entries.push({ rel: r, type: 'link', st });
      else if (st.isFile()) entries.push({ rel: r, type: 'file', st });
    }
  };
  rec('');
  return entries;
}

function textish(rel) {
  const e = path.posix.extname(rel).toLowerCase();
  return TEXT_EXT.has(e) || /\.log\.\d+$/.test(rel);
}

function mutate(root, seed, percent) {
  const t0 = Date.now();
  const entries = walk(root);
  const files = entries.filter((e) => e.type === 'file');
  if (!files.length) die(`${root} contains no regular files to mutate`);
  let h = 0;
  let maxMt = 0;
  for (const f of files) {
    h = hash32(`${h}|${f.rel}|${f.st.size}|${Math.floor(f.st.mtimeMs)}`, h);
    const s = Math.floor(f.st.mtimeMs / 1000);
    if (s > maxMt && s < Date.UTC(2090, 0, 1) / 1000) maxMt = s;
  }
  const rng = new Rng(`${seed}/mutate/${percent}/${h}/${files.length}`);
  const vocab = new Vocab(new Rng(`${seed}/vocab`));
  const base = Math.max(maxMt, BASE_TIME + SPAN) + 3600 + rng.int(86400);
  const mt = () => base + rng.int(3600);
  const n = files.length;
  const k = percent > 0 ? Math.min(n, Math.max(1, Math.round((n * percent) / 100))) : 0;
  // partial Fisher-Yates selection
  const idx = files.map((_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(n - i);
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  // make sure at least one large file gets bytes inserted at its start (shifts every chunk
  // boundary of a fixed-size chunker; content-defined chunking should shrug it off)
  const sizes = files.map((f) => f.st.size).sort((a, b) => a - b);
  const largeMin = Math.max(64 * KiB, Math.min(MiB, sizes[Math.floor(sizes.length * 0.98)] ?? 0));
  let forceInsert = k > 0 ? (idx.slice(0, k).find((i) => files[i].st.size >= largeMin) ?? -1) : -1;
  if (k > 0 && forceInsert < 0) {
    const large = idx.slice(k).filter((i) => files[i].st.size >= largeMin);
    if (large.length) {
      forceInsert = large[rng.int(large.length)];
      idx[idx.indexOf(forceInsert)] = idx[k - 1];
      idx[k - 1] = forceInsert;
    }
  }
  const chosen = idx.slice(0, k).sort((a, b) => a - b);
  const touchedDirs = new Set();
  const counts = { overwrite: 0, append: 0, insert: 0, touch: 0, added: 0, deleted: 0 };
  const fillFor = (rel, len) => {
    if (!textish(rel)) return rng.bytes(len);
    let s = '';
    while (s.length < len) s += vocab.sentence(rng, 3, 12) + (rng.chance(0.3) ? '\n' : ' ');
    return Buffer.from(s.slice(0, len), 'latin1');
  };
  let inserts = 0;
  for (const i of chosen) {
    const f = files[i];
    const a = path.join(root, f.rel);
    const size = f.st.size;
    let action = rng.weighted([
      [50, 'overwrite'],
      [30, 'append'],
      [12, 'touch'],
      [8, 'insert'],
    ]);
    if (size >= largeMin && rng.chance(0.35) && inserts < 1 + Math.floor(k / 20)) action = 'insert';
    if (i === forceInsert) action = 'insert';
    if (action === 'insert' && size < largeMin) action = 'overwrite';
    if (action === 'overwrite' && size < 16) action = 'append';
    const mode = f.st.mode & 0o7777;
    if (!(mode & 0o200)) fs.chmodSync(a, mode | 0o200);
    if (action === 'overwrite') {
      const fd = fs.openSync(a, 'r+');
      const nr = rng.range(1, size > MiB ? 6 : 3);
      for (let r = 0; r < nr; r++) {
        const len = Math.max(1, Math.min(rng.logSize(1, 4096), Math.floor(size / 8)));
        const off = Math.floor(size * 0.1) + rng.int(Math.max(1, Math.floor(size * 0.8) - len));
        fs.writeSync(fd, fillFor(f.rel, len), 0, len, off);
      }
      fs.closeSync(fd);
    } else if (action === 'append') {
      const len = Math.max(1, Math.min(rng.logSize(16, 64 * KiB), Math.max(64, Math.floor(size / 10))));
      fs.appendFileSync(a, fillFor(f.rel, len));
    } else if (action === 'insert') {
      inserts++;
      const len = rng.range(1, 8192);
      const tmp = path.join(path.dirname(a), `.${path.basename(a)}.gen-dataset-tmp`);
      const src = fs.openSync(a, 'r');
      const dst = fs.openSync(tmp, 'w');
      fs.writeSync(dst, fillFor(f.rel, len));
      const buf = Buffer.alloc(BIG_CHUNK);
      for (let pos = 0; ; ) {
        const got = fs.readSync(src, buf, 0, buf.length, pos);
        if (got === 0) break;
        fs.writeSync(dst, buf, 0, got);
        pos += got;
      }
      fs.closeSync(src);
      fs.closeSync(dst);
      fs.renameSync(tmp, a);
      touchedDirs.add(path.posix.dirname(f.rel));
    }
    fs.chmodSync(a, mode);
    const m = mt();
    fs.utimesSync(a, m, m);
    counts[action]++;
  }
  const extra = k ? Math.max(1, Math.round(k / 10)) : 0;
  // deletions: a few not-otherwise-modified, not-large files
  let rest = idx.slice(k).filter((i) => files[i].st.size < largeMin);
  if (!rest.length) rest = idx.slice(k);
  for (let i = 0; i < extra && i < rest.length; i++) {
    const f = files[rest[rng.int(rest.length)]];
    if (!fs.existsSync(path.join(root, f.rel))) continue;
    fs.rmSync(path.join(root, f.rel));
    touchedDirs.add(path.posix.dirname(f.rel));
    counts.deleted++;
  }
  // additions: next to existing files
  for (let i = 0; i < extra; i++) {
    const near = files[rng.int(n)].rel;
    const dir = path.posix.dirname(near);
    const ext = rng.pick(['.txt', '.md', '.json', '.bin', '.ts']);
    const rel = `${dir === '.' ? '' : `${dir}/`}new-${rng.pickSkew(TECH)}-${rng.hex(6)}${ext}`;
    if (fs.existsSync(path.join(root, rel))) continue;
    const size = rng.logSize(100, 256 * KiB, true);
    fs.writeFileSync(path.join(root, rel), fillFor(rel, size));
    fs.chmodSync(path.join(root, rel), 0o644);
    const m = mt();
    fs.utimesSync(path.join(root, rel), m, m);
    touchedDirs.add(dir);
    counts.added++;
  }
  for (const d of [...touchedDirs].sort()) {
    const m = mt();
    fs.utimesSync(d === '.' ? root : path.join(root, d), m, m);
  }
  const after = walk(root);
  const st = summarize(after);
  console.log(
    `${PROG}: mutated ${chosen.length}/${n} files (${counts.overwrite} overwritten, ${counts.append} appended, ${counts.insert} inserted-at-start, ${counts.touch} touched), ` +
      `added ${counts.added}, deleted ${counts.deleted}; now ${st.files} files, ${st.dirs} dirs, ${st.links} symlinks, ${st.bytes} bytes in ${((Date.now() - t0) / 1000).toFixed(1)}s`,
  );
}

function summarize(entries) {
  const s = { files: 0, dirs: 0, links: 0, bytes: 0 };
  for (const e of entries) {
    if (e.type === 'file') {
      s.files++;
      s.bytes += e.st.size;
    } else if (e.type === 'dir') s.dirs++;
    else s.links++;
  }
  return s;
}

// ───────────────────────────── CLI ─────────────────────────────

/** @returns {never} */
function die(msg) {
  return dieAs(PROG, msg);
}

function parseSize(s) {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(String(s).trim());
  if (!m) die(`invalid size '${s}' (examples: 8M, 100M, 1G, 1.5G, 123456)`);
  const mult = { '': 1, k: KiB, m: MiB, g: GiB, t: 1024 * GiB }[m[2].toLowerCase()];
  return Math.floor(Number(m[1]) * mult);
}

const USAGE = 'usage: node scripts/gen-dataset.mjs OUTDIR [--size 1G|100M|...] [--seed N] [--preset quick|full] [--mutate PERCENT]';

function parseArgs(argv) {
  const { values: v, positionals } = parseOptions(
    PROG,
    argv,
    {
      size: { type: 'string' },
      seed: { type: 'string', default: '42' },
      preset: { type: 'string' },
      mutate: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    { positionals: 1 },
  );
  if (v.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  /** @type {{ out: string, size: number | null, seed: string, preset: string | null, mutate: number | null }} */
  const o = {
    out: positionals[0] ?? '',
    size: v.size === undefined ? null : parseSize(v.size),
    seed: String(v.seed),
    preset: /** @type {string | undefined} */ (v.preset) ?? null,
    mutate: null,
  };
  if (!o.out) die(USAGE);
  if (o.preset !== null && !['quick', 'full'].includes(o.preset)) die(`unknown preset '${o.preset}' (quick|full)`);
  if (o.size === null) o.size = o.preset === 'quick' ? 100 * MiB : GiB;
  if (o.size < MiB) die('size must be at least 1M');
  o.seed = o.seed.replace(/^0+(?=\d+$)/, ''); // --seed 007 == --seed 7
  if (v.mutate !== undefined) {
    const p = Number(v.mutate);
    if (!Number.isFinite(p) || p < 0 || p > 100) die(`invalid --mutate percent '${v.mutate}' (0..100)`);
    o.mutate = p;
  }
  return o;
}

function generate(o) {
  const t0 = Date.now();
  const root = path.resolve(o.out);
  let exists = false;
  try {
    const st = fs.statSync(root);
    if (!st.isDirectory()) die(`${o.out} exists and is not a directory`);
    exists = true;
  } catch (e) {
    if (/** @type {NodeJS.ErrnoException} */ (e).code !== 'ENOENT') throw e;
  }
  if (exists && fs.readdirSync(root).length > 0) die(`refusing to generate into non-empty directory ${o.out} (use an empty/new dir, or --mutate)`);
  fs.mkdirSync(root, { recursive: true });
  const key = `${o.seed}/${o.size}`;
  const out = new Out(root, key);
  const master = new Rng(key);
  const vocab = new Vocab(new Rng(`${o.seed}/vocab`));
  const T = o.size;
  const ctx = { total: T };
  // fixed-size odds and ends come out of the "small" share
  const b = {
    text: Math.floor(T * 0.3),
    docs: Math.floor(T * 0.1),
    bin: Math.floor(T * 0.15),
    media: Math.floor(T * 0.25),
    large: Math.floor(T * 0.15),
  };
  b.small = T - b.text - b.docs - b.bin - b.media - b.large;
  const rText = master.fork('text');
  const rDocs = master.fork('docs');
  const rBin = master.fork('bin');
  const rMedia = master.fork('media');
  const rSmall = master.fork('small');
  const rLarge = master.fork('large');
  const rOdd = master.fork('odd');
  genText(out, rText, vocab, b.text, ctx);
  genDocs(out, rDocs, vocab, b.docs);
  genBinaries(out, rBin, vocab, b.bin, ctx);
  genMedia(out, rMedia, b.media);
  genLarge(out, rLarge, vocab, b.large, ctx);
  const oddBytes = genOdd(out, rOdd, vocab, ctx);
  genSmall(out, rSmall, vocab, Math.max(KiB, b.small - oddBytes), ctx);
  genOdd2(out, rOdd, ctx);
  out.finalizeDirs();
  const s = out.stats;
  console.log(
    `${PROG}: ${s.files} files, ${s.dirs} dirs, ${s.links} symlinks, ${s.bytes} bytes (${(s.bytes / MiB).toFixed(1)} MiB) in ${o.out} ` +
      `[seed ${o.seed}, ${((Date.now() - t0) / 1000).toFixed(1)}s]`,
  );
}

/** things that need the deep tree to exist */
function genOdd2(out, rng, ctx) {
  const dirs = ctx.deepDirs ?? [];
  if (!dirs.length) return;
  for (let i = 0; i < 3; i++) {
    const d = dirs[rng.int(dirs.length)];
    if (!out.used.has(`${d}/.gitkeep`.toLowerCase())) out.file(`${d}/.gitkeep`, '', 0o644, mtime(rng));
    out.mkdir(out.uniqueDirName(d, 'cache-empty'));
  }
  // deepest dir: symlinks pointing up the tree
  let deepest = dirs[0];
  for (const d of dirs) if (d.split('/').length > deepest.split('/').length) deepest = d;
  if (ctx.firstDoc) out.symlink(`${deepest}/up-to-doc.md`, relLink(`${deepest}/x`, ctx.firstDoc), mtime(rng));
  out.symlink(`${deepest}/link-to-logs-dir`, relLink(`${deepest}/x`, 'data/logs'), mtime(rng));
  if (ctx.smallFiles?.length) {
    const target = ctx.smallFiles[rng.int(ctx.smallFiles.length)];
    out.symlink(`${deepest}/sibling-link`, relLink(`${deepest}/x`, target), mtime(rng));
  }
}

const opts = parseArgs(process.argv.slice(2));
if (opts.mutate !== null) {
  const root = path.resolve(opts.out);
  let st;
  try {
    st = fs.statSync(root);
  } catch {
    die(`--mutate: ${opts.out} does not exist`);
  }
  if (!st.isDirectory() || fs.readdirSync(root).length === 0) die(`--mutate: ${opts.out} is not a non-empty directory`);
  mutate(root, opts.seed, opts.mutate);
} else {
  generate(opts);
}
