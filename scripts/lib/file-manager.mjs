// A real file manager (Debian's PCManFM) browsing a folder of a sinki mount under Xvfb, timed from the
// mount's own operation trace (`sinki mount --trace-ops FILE`): used by scripts/bench-browse and
// test/fuse/file-manager.test.ts.
import { spawn } from 'node:child_process';
import { promises as fs, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * @typedef {{ start: number, duration: number, op: string, code: number, path: string }} TraceOp
 * @typedef {{ display: string, stop: () => Promise<void> }} Xserver
 */

/** @param {number} ms */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Xvfb on a display number it picks itself (-displayfd), so runs side by side never collide. */
export async function startXvfb() {
  const child = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', '1280x800x24', '-nolisten', 'tcp'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (/** @type {Buffer} */ d) => (stderr = (stderr + d.toString()).slice(-2000)));
  const display = await new Promise((resolve, reject) => {
    const fd3 = /** @type {import('node:stream').Readable} */ (child.stdio[3]);
    let out = '';
    fd3.on('data', (/** @type {Buffer} */ d) => {
      out += d.toString();
      if (out.includes('\n')) resolve(`:${out.trim()}`);
    });
    child.once('exit', (code) => reject(new Error(`Xvfb exited (${code}): ${stderr.trim()}`)));
    child.once('error', reject);
  });
  return {
    display: /** @type {string} */ (display),
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** @param {string} file @returns {TraceOp[]} */
export function readTrace(file) {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  /** @type {TraceOp[]} */
  const ops = [];
  for (const line of text.split('\n')) {
    const m = /^([\d.]+) ([\d.]+) (\S+) (-?\d+) (".*")$/.exec(line);
    if (m)
      ops.push({
        start: Number(m[1]),
        duration: Number(m[2]),
        op: /** @type {string} */ (m[3]),
        code: Number(m[4]),
        path: JSON.parse(/** @type {string} */ (m[5])),
      });
  }
  return ops;
}

/**
 * Opens `folder` (a path in the mount `mountpoint`) in a fresh PCManFM window and waits until the
 * mount has been quiet for `quietMs` after the folder was listed (readdir and a getattr of every
 * entry). Times are the mount's: from a marker lookup made just before the launch.
 * @param {{ display: string, mountpoint: string, folder: string, traceFile: string, home: string, quietMs?: number, timeoutMs?: number, screenshot?: string }} o
 */
export async function browse(o) {
  const quietMs = o.quietMs ?? 2000;
  const rel = `/${o.folder.slice(o.mountpoint.length).replace(/^\/+/, '')}`.replace(/\/$/, '') || '/';
  const names = await fs.readdir(o.folder);
  const mark = `/.sinki-browse-mark-${process.pid}-${Date.now()}`;
  try {
    statSync(join(o.mountpoint, mark));
  } catch {
    // ENOENT: the marker is the lookup itself.
  }
  await fs.mkdir(o.home, { recursive: true });
  /** @type {NodeJS.ProcessEnv} */
  const env = {
    ...process.env,
    HOME: o.home,
    DISPLAY: o.display,
    XDG_CONFIG_HOME: join(o.home, '.config'),
    XDG_CACHE_HOME: join(o.home, '.cache'),
    NO_AT_BRIDGE: '1',
  };
  delete env.XDG_RUNTIME_DIR;
  const child = spawn('pcmanfm', ['--no-desktop', o.folder], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (/** @type {Buffer} */ d) => (stderr = (stderr + d.toString()).slice(-4000)));
  const until = Date.now() + (o.timeoutMs ?? 60_000);
  const prefix = rel === '/' ? '/' : `${rel}/`;
  const wanted = new Set(names.map((n) => `${prefix}${n}`));
  /** @type {TraceOp[]} */
  let ops = [];
  let listedAt = -1;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`pcmanfm exited (${child.exitCode}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
      if (Date.now() > until) throw new Error(`pcmanfm did not list ${o.folder} in time`);
      await sleep(100);
      const all = readTrace(o.traceFile);
      const from = all.findIndex((op) => op.path === mark);
      if (from < 0) continue;
      ops = all.slice(from);
      const t0 = ops[0]?.start ?? 0;
      const readdir = ops.find((op) => op.op === 'readdir' && op.path === rel && op.code === 0);
      if (!readdir) continue;
      const seen = new Set();
      let last = readdir.start + readdir.duration;
      for (const op of ops) {
        if (op.op === 'getattr' && wanted.has(op.path) && !seen.has(op.path)) {
          seen.add(op.path);
          last = Math.max(last, op.start + op.duration);
        }
      }
      if (seen.size < wanted.size) continue;
      listedAt = last - t0;
      const lastOp = ops.reduce((m, op) => Math.max(m, op.start + op.duration), 0);
      // Quiet: no operation for quietMs, measured on the mount's clock against the trace's newest line.
      const before = all.length;
      await sleep(quietMs);
      const after = readTrace(o.traceFile);
      if (after.length === before) {
        ops = after.slice(from);
        if (o.screenshot) {
          await runOk('import', ['-window', 'root', o.screenshot], { ...process.env, DISPLAY: o.display });
          // The window alone: the empty (black) rest of the screen trimmed away.
          await runOk('convert', [o.screenshot, '-trim', '+repage', o.screenshot], process.env);
        }
        return { listedMs: listedAt, settledMs: lastOp - t0, entries: names.length, ops: ops.slice(1) };
      }
    }
  } finally {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  }
}

/** @param {string} cmd @param {string[]} args @param {NodeJS.ProcessEnv} env */
function runOk(cmd, args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (/** @type {Buffer} */ d) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(undefined) : reject(new Error(`${cmd} exited ${code}: ${stderr.trim()}`))));
  });
}

/**
 * What a browse asked of the mount: lookups of names that do not exist (the probes) with their
 * answer times, and bytes read by clients.
 * @param {TraceOp[]} ops
 */
export function summarise(ops) {
  const probes = ops.filter((op) => op.op === 'getattr' && op.code === -2);
  const reads = ops.filter((op) => op.op === 'read' && op.code > 0);
  const counts = /** @type {Record<string, number>} */ ({});
  for (const op of ops) counts[op.op] = (counts[op.op] ?? 0) + 1;
  return {
    counts,
    probes: [...new Set(probes.map((p) => p.path))],
    slowestProbeMs: probes.reduce((m, p) => Math.max(m, p.duration), 0),
    clientReadBytes: reads.reduce((n, op) => n + op.code, 0),
  };
}

/**
 * `n` distinct real JPEG photos in `dir` (IMG_0000.jpg…): one picture drawn by ImageMagick (160×120),
 * each copy made distinct by a comment segment (COM) right after the start-of-image marker.
 * @param {string} dir @param {number} n @param {string} base where the drawn picture goes
 */
export async function makePhotos(dir, n, base, size = '160x120') {
  await runOk('convert', ['-size', size, 'plasma:fractal', '-quality', '85', base], process.env);
  const src = await fs.readFile(base);
  await fs.mkdir(dir, { recursive: true });
  for (let i = 0; i < n; i++) {
    const text = Buffer.from(`photo ${i} `.padEnd(64, '.'));
    const seg = Buffer.alloc(4);
    seg.writeUInt16BE(0xfffe, 0);
    seg.writeUInt16BE(text.length + 2, 2);
    await fs.writeFile(join(dir, `IMG_${String(i).padStart(4, '0')}.jpg`), Buffer.concat([src.subarray(0, 2), seg, text, src.subarray(2)]));
  }
}
