// A seeded random exerciser for one process: pwrite at random offsets (across chunk boundaries,
// past the end leaving holes), truncate/ftruncate up and down, reads, fsync, close/reopen, over a
// few files in DIR, each step checked against an in-memory model. Runs as its own process so that
// its blocking fs calls never stall the test runner, and so that two can run at once.
//
//   node random-io-child.mjs '{"dir":…,"modelDir":…,"seed":1,"files":3,"steps":300,"chunkSize":65536,"maxSize":400000}'
//
// Exit 0: every check passed, the final models are written to modelDir/<name>, a JSON summary on
// stdout. Exit 1: a JSON report of the first mismatch (seed, step, recent ops) on stderr.
import fs from 'node:fs';
import path from 'node:path';

const cfg = JSON.parse(process.argv[2]);
const { dir, modelDir, seed, files, steps, chunkSize, maxSize } = cfg;

function mulberry32(a) {
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = mulberry32(seed);
const int = (n) => Math.floor(rand() * n);
const pick = (weights) => {
  const total = Object.values(weights).reduce((a, b) => a + b, 0);
  let r = rand() * total;
  for (const [k, w] of Object.entries(weights)) {
    r -= w;
    if (r < 0) return k;
  }
  return Object.keys(weights)[0];
};

function bytes(n) {
  const b = Buffer.alloc(n);
  const kind = int(3);
  if (kind === 0) b.fill(int(256));
  else if (kind === 1) for (let i = 0; i < n; i++) b[i] = int(256);
  else for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff; // compressible
  return b;
}

/** An offset that is often near a chunk boundary or the current end. */
function offset(size) {
  const r = int(4);
  if (r === 0) return Math.max(0, (1 + int(Math.floor(maxSize / chunkSize))) * chunkSize + int(128) - 64);
  if (r === 1) return Math.max(0, size - int(100));
  if (r === 2) return size + int(chunkSize * 2); // past the end: a hole
  return int(Math.max(1, size + 1));
}

function length() {
  const r = int(4);
  if (r === 0) return 1 + int(16);
  if (r === 1) return chunkSize + int(chunkSize); // spans a boundary
  return 1 + int(chunkSize / 2);
}

const names = Array.from({ length: files }, (_, i) => `f${i}`);
const models = names.map(() => Buffer.alloc(0));
const fds = names.map((n) => fs.openSync(path.join(dir, n), fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_TRUNC, 0o644));
const history = [];
const counts = {};

function fail(step, what, extra = {}) {
  process.stderr.write(`${JSON.stringify({ seed, step, what, ...extra, recent: history.slice(-12) })}\n`);
  process.exit(1);
}

function resize(model, size) {
  if (size <= model.length) return model.subarray(0, size);
  return Buffer.concat([model, Buffer.alloc(size - model.length)]);
}

function readAll(fd) {
  const size = fs.fstatSync(fd).size;
  const buf = Buffer.alloc(size);
  let done = 0;
  while (done < size) {
    const n = fs.readSync(fd, buf, done, size - done, done);
    if (n === 0) break;
    done += n;
  }
  return buf.subarray(0, done);
}

function check(step, i) {
  const stSize = fs.fstatSync(fds[i]).size;
  if (stSize !== models[i].length) fail(step, 'size', { file: names[i], stat: stSize, model: models[i].length });
  // A fresh descriptor: with auto_cache the kernel revalidates its page cache on open.
  const fd = fs.openSync(path.join(dir, names[i]), 'r');
  const got = readAll(fd);
  fs.closeSync(fd);
  if (!got.equals(models[i])) {
    let at = 0;
    while (at < got.length && got[at] === models[i][at]) at++;
    fail(step, 'contents', { file: names[i], length: got.length, model: models[i].length, firstDifference: at });
  }
}

for (let step = 0; step < steps; step++) {
  const i = int(files);
  const op = pick({ pwrite: 10, truncate: 2, ftruncate: 2, read: 3, fsync: 1, reopen: 1 });
  counts[op] = (counts[op] ?? 0) + 1;
  if (op === 'pwrite') {
    const at = Math.min(offset(models[i].length), maxSize - 1);
    const data = bytes(Math.min(length(), maxSize - at));
    history.push({ step, op, file: names[i], at, len: data.length });
    let done = 0;
    while (done < data.length) done += fs.writeSync(fds[i], data, done, data.length - done, at + done);
    if (at + data.length > models[i].length) models[i] = resize(models[i], at + data.length);
    data.copy(models[i], at);
  } else if (op === 'truncate' || op === 'ftruncate') {
    const r = int(3);
    const size = r === 0 ? int(chunkSize * 2) : r === 1 ? Math.min(maxSize, (1 + int(4)) * chunkSize + int(3) - 1) : int(maxSize);
    history.push({ step, op, file: names[i], size });
    if (op === 'truncate') fs.truncateSync(path.join(dir, names[i]), size);
    else fs.ftruncateSync(fds[i], size);
    models[i] = resize(models[i], size);
  } else if (op === 'read') {
    const at = int(models[i].length + chunkSize);
    const len = length();
    history.push({ step, op, file: names[i], at, len });
    const buf = Buffer.alloc(len);
    const n = fs.readSync(fds[i], buf, 0, len, at);
    const want = models[i].subarray(Math.min(at, models[i].length), Math.min(at + len, models[i].length));
    if (!buf.subarray(0, n).equals(want)) fail(step, 'pread', { file: names[i], at, len, got: n, want: want.length });
  } else if (op === 'fsync') {
    history.push({ step, op, file: names[i] });
    fs.fsyncSync(fds[i]);
  } else {
    history.push({ step, op, file: names[i] });
    fs.closeSync(fds[i]);
    fds[i] = fs.openSync(path.join(dir, names[i]), 'r+');
  }
  check(step, i);
  if (step % 25 === 0) for (let j = 0; j < files; j++) check(step, j);
}

for (let j = 0; j < files; j++) {
  check(steps, j);
  fs.closeSync(fds[j]);
  fs.writeFileSync(path.join(modelDir, names[j]), models[j]);
}
process.stdout.write(`${JSON.stringify({ seed, steps, counts, sizes: models.map((m) => m.length) })}\n`);
