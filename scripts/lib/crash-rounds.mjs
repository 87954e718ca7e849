// crash-rounds.mjs — the crash suite's engine, shared by scripts/crash-suite (many rounds) and
// test/lifecycle/crash.test.ts (a few). Each round runs one operation of the real CLI — backup,
// prune (forget --prune), push to a local-path remote, writes into a read-write mount, `sinki
// snapshot` of an unmounted store, or `sinki snapshot` answered by a running mount — and kills it
// (for the last two: the mount process) with SIGKILL at a seeded random moment. Then it checks what docs/DESIGN.md's invariant 2
// promises: the store opens, `check --read-data` finds no error (unreferenced packs are notes),
// every snapshot still there restores byte-identical to what was backed up, every file fsynced in
// the mount before the kill is intact after a remount, and stale locks of the killed processes
// block nothing.
//
// What a snapshot should contain is known independently of the store: a manifest (path → type and
// SHA-256 or symlink target) taken of the source tree before each backup, and a model of what was
// confirmed written (cp + sync) into the mount.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { prng } from './prng.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The CLI under test; SINKI_CLI points elsewhere (e.g. a frozen copy of dist/ while others rebuild it). */
export const CLI = process.env.SINKI_CLI ? path.resolve(process.env.SINKI_CLI) : path.join(ROOT, 'dist/cli/main.js');
/** The mount-table parser of that build (dist/sys/mounts.js); null until dist/ is built (crash-suite says so). */
const mountTable = await import(pathToFileURL(path.join(path.dirname(CLI), '../sys/mounts.js')).href).catch(() => null);
const GEN = path.join(ROOT, 'scripts/gen-dataset.mjs');
const PASSWORD = 'crash-suite-password';

/**
 * snapshot: `sinki snapshot` on an unmounted store (refs/head's tree becomes a snapshot), killed;
 * mount-snapshot: `sinki snapshot` asked of a running mount over its control socket while it holds
 * unsynced writes (it commits them, then writes the snapshot), the mount process killed.
 */
export const OPERATIONS = ['backup', 'mount', 'prune', 'push', 'snapshot', 'mount-snapshot'];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function sha256File(file) {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/**
 * path → "d", "f <sha256>" or "l <target>" for everything below root (root excluded); names under
 * `prefix`. A mount's /.snapshots and /.versions are left out.
 */
export function manifestOf(root, prefix = '') {
  const out = new Map();
  const visit = (abs, rel) => {
    for (const name of fs.readdirSync(abs).sort()) {
      if (!rel && (name === '.snapshots' || name === '.versions')) continue;
      const a = path.join(abs, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = fs.lstatSync(a);
      if (st.isDirectory()) {
        out.set(r, 'd');
        visit(a, r);
      } else if (st.isSymbolicLink()) out.set(r, `l ${fs.readlinkSync(a)}`);
      else if (st.isFile()) out.set(r, `f ${sha256File(a)}`);
      else out.set(r, 'other');
    }
  };
  if (prefix) out.set(prefix, 'd');
  visit(root, prefix);
  return out;
}

/** Lines describing how `actual` differs from `expected` (empty when equal). */
export function diffManifests(expected, actual) {
  const lines = [];
  for (const [p, v] of expected) {
    const a = actual.get(p);
    if (a === undefined) lines.push(`missing ${p}`);
    else if (a !== v) lines.push(`differs ${p}: ${a.slice(0, 20)} instead of ${v.slice(0, 20)}`);
  }
  for (const p of actual.keys()) if (!expected.has(p)) lines.push(`unexpected ${p}`);
  return lines;
}

/** Runs a command to completion (never throws on a non-zero exit). */
export function run(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    child.stdout.on('data', (b) => out.push(b));
    child.stderr.on('data', (b) => err.push(b));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? 128, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
  });
}

/**
 * Starts a command in a process group of its own, so that SIGKILL takes its children (rclone) too,
 * as a crash would. `exited` resolves with { code, signal, stdout, stderr }.
 */
function startGroup(cmd, args, env) {
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const out = [];
  const err = [];
  child.stdout.on('data', (b) => out.push(b));
  child.stderr.on('data', (b) => err.push(b));
  const exited = new Promise((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() })),
  );
  return { child, exited, stdoutSoFar: () => Buffer.concat(out).toString() };
}

function killGroup(pid) {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * A zombie (killed, not yet reaped) counts as gone; with `started` (a lock's record of its holder's
 * start time) so does a process that got the pid later.
 */
export function isAlive(pid, started) {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] !== 'Z' && (started === undefined || fields[19] === started);
  } catch {
    return false;
  }
}

async function waitUntil(what, test, timeoutMs = 15_000) {
  const until = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function isMounted(mnt) {
  if (!mountTable) throw new Error(`no sys/mounts.js beside ${CLI}: build dist/ first`);
  return mountTable.mountAt(mountTable.readMountTableSync(), mnt) !== undefined;
}

/**
 * One store and everything known about it. `expected` maps snapshot id → manifest of what it must
 * restore to; it only ever grows (a forgotten snapshot may still live on the remote).
 */
export class CrashSuite {
  /**
   * @param {{ workdir: string, seed: string|number, size?: string, log?: (line: string) => void, packSize?: string }} o
   */
  constructor(o) {
    this.work = o.workdir;
    this.seed = String(o.seed);
    this.size = o.size ?? '4M';
    this.packSize = o.packSize ?? '1M';
    this.log = o.log ?? (() => undefined);
    this.random = prng(`crash-${this.seed}`);
    this.store = path.join(this.work, 'store');
    this.src = path.join(this.work, 'src');
    this.remote = path.join(this.work, 'remote');
    this.mnt = path.join(this.work, 'mnt');
    this.pool = path.join(this.work, 'pool');
    /** @type {NodeJS.ProcessEnv} */
    this.env = { ...process.env, SINKI_PASSWORD: PASSWORD };
    delete this.env.SINKI_STORE;
    /** @type {Map<string, Map<string, string>>} */
    this.expected = new Map();
    /** Snapshot ids that must still be in the store (not removed by a forget). */
    this.required = new Set();
    /** The live tree as confirmed written: path → manifest value. */
    this.liveModel = new Map();
    /** Last measured length of an uninterrupted run of each operation, ms (where the kill moment is drawn from). */
    this.duration = { backup: 4000, prune: 3000, push: 2500, mount: 2000, snapshot: 1000, 'mount-snapshot': 3000 };
    /** Operations seen to finish before their kill at least once. */
    this.finished = new Set();
    this.mountPids = new Set();
    this.groups = new Set();
    this.restoreCount = 0;
    this.remoteSnapshots = 0;
  }

  sinki(args, store = this.store) {
    return run(process.execPath, [CLI, '-s', store, ...args], { env: this.env });
  }

  async sinkiOk(args, store = this.store) {
    const r = await this.sinki(args, store);
    if (r.code !== 0) throw new Error(`sinki ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
    return r;
  }

  async setup() {
    fs.mkdirSync(this.work, { recursive: true });
    fs.mkdirSync(this.pool);
    fs.mkdirSync(this.mnt);
    const gen = await run(process.execPath, [GEN, this.src, '--size', this.size, '--seed', this.seed]);
    if (gen.code !== 0) throw new Error(`gen-dataset failed: ${gen.stderr}`);
    // Files the mount rounds copy in: text (xz works on it) and incompressible .zip (stored raw).
    const r = prng(`pool-${this.seed}`);
    for (let i = 0; i < 8; i++) {
      const size = 64 * 1024 + Math.floor(r() * 1.5 * 1024 * 1024);
      const buf = Buffer.alloc(size);
      if (i % 2 === 0) for (let j = 0; j < size; j++) buf[j] = Math.floor(r() * 256);
      else for (let j = 0; j < size; j++) buf[j] = 97 + ((j * 7 + Math.floor(j / 4096) * 13 + i) % 23);
      fs.writeFileSync(path.join(this.pool, `p${i}.${i % 2 === 0 ? 'zip' : 'txt'}`), buf);
    }
    await this.sinkiOk(['init', '--kdf', 'pbkdf2', '--kdf-iterations', '1000', '--insecure-kdf', '--pack-size', this.packSize]);
    await this.backupUninterrupted();
  }

  async snapshots(store = this.store) {
    const r = await this.sinki(['snapshots', '--json'], store);
    if (r.code !== 0) throw new Error(`sinki snapshots exited ${r.code}: ${r.stderr.trim()}`);
    return JSON.parse(r.stdout);
  }

  /** New snapshots since `before`: each must be the one the operation was making, with `manifest`. */
  async adoptNew(before, manifest, what) {
    const now = await this.snapshots();
    const fresh = now.filter((s) => !before.has(s.id));
    if (fresh.length > 1) throw new Error(`${what} left ${fresh.length} new snapshots, expected at most one`);
    for (const s of fresh) {
      this.expected.set(s.id, manifest);
      this.required.add(s.id);
    }
    return fresh.length;
  }

  async backupUninterrupted() {
    const before = new Set((await this.snapshots()).map((s) => s.id));
    const manifest = manifestOf(this.src, path.basename(this.src));
    await this.sinkiOk(['backup', this.src]);
    await this.adoptNew(before, manifest, 'backup');
  }

  /** Draws the kill moment: uniform over the last measured duration, a little beyond it. */
  killDelay(op) {
    return Math.floor(this.random() * this.duration[op] * 1.15);
  }

  /** An uninterrupted run took `ms`: the window kills are drawn from follows it, shrinking only slowly (a prune with little to do is short). */
  noteDuration(op, ms) {
    // The mount writer's length varies with the files it copies; it is no slow no-op the way a prune is.
    this.duration[op] = op === 'mount' ? ms : Math.max(ms, Math.round(this.duration[op] * 0.95));
  }

  /** Runs a CLI operation and kills its process group after `delay` ms (if it is still running). */
  async killedRun(op, args, delay, store = this.store) {
    const started = Date.now();
    const job = startGroup(process.execPath, [CLI, '-s', store, ...args], this.env);
    this.groups.add(job.child.pid);
    const timer = setTimeout(() => killGroup(job.child.pid), delay);
    const r = await job.exited;
    clearTimeout(timer);
    killGroup(job.child.pid); // nothing of the group may live on (rclone)
    this.groups.delete(job.child.pid);
    const ms = Date.now() - started;
    if (r.signal === 'SIGKILL') {
      // Killed late in the window and still running, or never seen to finish: the window may be too short to reach the end of the operation.
      if (delay > 0.85 * this.duration[op] || !this.finished.has(op)) this.duration[op] = Math.round(this.duration[op] * 1.25);
      return { outcome: 'killed', ms, r };
    }
    if (r.code !== 0) throw new Error(`sinki ${args.join(' ')} failed on its own (exit ${r.code}): ${r.stderr.trim()}`);
    this.noteDuration(op, ms);
    this.finished.add(op);
    return { outcome: 'completed', ms, r };
  }

  /** One round: the operation, killed at a random moment, then every check. Returns a record of the round. */
  async round(i, op) {
    const delay = this.killDelay(op);
    const started = Date.now();
    let result;
    if (op === 'backup') result = await this.backupRound(i, delay);
    else if (op === 'prune') result = await this.pruneRound(i, delay);
    else if (op === 'push') result = await this.pushRound(i, delay);
    else if (op === 'mount') result = await this.mountRound(i, delay);
    else if (op === 'snapshot') result = await this.snapshotRound(i, delay);
    else if (op === 'mount-snapshot') result = await this.mountSnapshotRound(i, delay);
    else throw new Error(`unknown operation ${op}`);
    const problems = [...(result.problems ?? []), ...(await this.verifyStore())];
    if (op === 'push') {
      problems.push(...(await this.verifyRemote()));
      result.detail = `${result.detail ?? ''} remote holds ${this.remoteSnapshots} snapshot(s)`.trim();
    }
    problems.push(...this.leftoverLocks());
    const record = { round: i, op, delayMs: delay, outcome: result.outcome, detail: result.detail ?? '', problems, ms: Date.now() - started };
    this.log(
      `round ${String(i).padStart(3)} ${op.padEnd(14)} kill at ${String(delay).padStart(5)} ms: ${result.outcome.padEnd(9)} ${result.detail ?? ''}${problems.length ? `  PROBLEMS:\n    ${problems.join('\n    ')}` : '  ok'}`,
    );
    return record;
  }

  async backupRound(i, delay) {
    const mutate = await run(process.execPath, [GEN, this.src, '--mutate', '15', '--seed', `${this.seed}-${i}`]);
    if (mutate.code !== 0) throw new Error(`gen-dataset --mutate failed: ${mutate.stderr}`);
    const before = new Set((await this.snapshots()).map((s) => s.id));
    const manifest = manifestOf(this.src, path.basename(this.src));
    const { outcome } = await this.killedRun('backup', ['backup', this.src], delay);
    const n = await this.adoptNew(before, manifest, 'backup');
    return { outcome, detail: outcome === 'killed' && n ? '(snapshot was already written)' : '' };
  }

  /**
   * forget --keep-last N (half the time killed itself, as part of forget --prune), then prune killed
   * at a random moment: the newest N of each group must survive, and every remaining snapshot restore.
   */
  async pruneRound(_i, delay) {
    const keep = 1 + Math.floor(this.random() * 2);
    const maxUnused = this.random() < 0.5 ? '0' : '10%';
    const together = this.random() < 0.5;
    const before = await this.snapshots();
    // forget --keep-last N keeps the newest N of each host+paths group: those must survive any kill.
    const mustStay = new Set();
    const groups = new Map();
    for (const s of before) {
      const key = `${s.host}\0${[...s.paths].sort().join('\0')}`;
      groups.set(key, [...(groups.get(key) ?? []), s]);
    }
    for (const g of groups.values()) for (const s of g.sort((a, b) => b.time.localeCompare(a.time)).slice(0, keep)) mustStay.add(s.id);
    const forget = ['forget', '--keep-last', String(keep)];
    if (!together) await this.sinkiOk(forget);
    const { outcome } = await this.killedRun('prune', [...(together ? [...forget, '--prune'] : ['prune']), '--max-unused', maxUnused], delay);
    const after = new Set((await this.snapshots()).map((s) => s.id));
    const problems = [];
    for (const id of mustStay) if (!after.has(id)) problems.push(`forget removed snapshot ${id.slice(0, 12)}, which --keep-last ${keep} keeps`);
    for (const id of this.required) if (!after.has(id) && !mustStay.has(id)) this.required.delete(id);
    return {
      outcome,
      problems,
      detail: `${together ? 'forget --prune' : 'forget, then prune'}, keep-last ${keep}, max-unused ${maxUnused}: ${before.length} → ${after.size} snapshots`,
    };
  }

  async pushRound(_i, delay) {
    const args = ['push', this.remote];
    if (this.random() < 0.3) args.push('--delete');
    const { outcome } = await this.killedRun('push', args, delay);
    return { outcome, detail: args.includes('--delete') ? '(--delete)' : '' };
  }

  async mount(flags = []) {
    const r = await this.sinki(['mount', this.mnt, '--background', ...flags]);
    const pid = Number(/\(pid (\d+),/.exec(r.stdout)?.[1]);
    if (pid) this.mountPids.add(pid);
    if (r.code !== 0 || !pid) {
      const logFile = path.join(this.work, '.mnt.sinki-mount.log');
      throw new Error(`sinki mount exited ${r.code}: ${r.stderr.trim()} ${fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-2000) : ''}`);
    }
    return pid;
  }

  async umount(pid) {
    await this.sinkiOk(['umount', this.mnt], this.store);
    await waitUntil(`mount process ${pid} to exit`, () => !isAlive(pid));
    this.mountPids.delete(pid);
  }

  /**
   * Mount, check the live tree, copy files in (cp, then sync FILE: fsync) and SIGKILL the mount
   * process at a random moment; `fusermount -uz`, mount again: every file whose sync returned must
   * be there, intact. Then unmount cleanly (which takes a snapshot of the live tree).
   */
  async mountRound(i, delay) {
    const problems = [];
    let pid = await this.mount();
    const live = () => manifestOf(this.mnt);
    const drift = diffManifests(this.liveModel, live());
    if (drift.length) problems.push(...drift.map((d) => `live tree before writing: ${d}`));
    const dir = `w${i}`;
    const poolFiles = fs.readdirSync(this.pool).sort();
    const names = [];
    const count = 3 + Math.floor(this.random() * 4);
    for (let k = 0; k < count; k++) {
      const from = poolFiles[Math.floor(this.random() * poolFiles.length)];
      names.push([path.join(this.pool, from), `${dir}/f${k}${path.extname(from)}`]);
    }
    const script = [
      `mkdir -p '${this.mnt}/${dir}' && sync '${this.mnt}/${dir}' || exit 1`,
      ...names.map(([from, to]) => `cp '${from}' '${this.mnt}/${to}' && sync '${this.mnt}/${to}' && echo 'ok ${to}' || exit 1`),
    ].join('\n');
    const started = Date.now();
    const writer = startGroup('sh', ['-c', script], process.env);
    this.groups.add(writer.child.pid);
    let outcome = 'completed';
    const killTimer = setTimeout(() => {
      outcome = 'killed';
      process.kill(pid, 'SIGKILL');
    }, delay);
    const w = await writer.exited;
    clearTimeout(killTimer);
    this.groups.delete(writer.child.pid);
    const confirmed = [...w.stdout.matchAll(/^ok (.+)$/gm)].map((m) => m[1]);
    if (outcome === 'completed') {
      // The writer finished before the kill: measure, then kill anyway (data must be committed by sync, not by unmount).
      this.noteDuration('mount', Date.now() - started);
      process.kill(pid, 'SIGKILL');
    }
    await waitUntil(`killed mount ${pid} to exit`, () => !isAlive(pid));
    this.mountPids.delete(pid);
    if (isMounted(this.mnt)) {
      const u = await run('fusermount', ['-uz', this.mnt]);
      if (u.code !== 0) problems.push(`fusermount -uz failed: ${u.stderr.trim()}`);
    }
    if (outcome === 'completed' && confirmed.length !== names.length) problems.push(`writer stopped early: ${w.stderr.trim()}`);

    pid = await this.mount();
    const after = live();
    const expectedNow = new Map(this.liveModel);
    for (const [from, to] of names) {
      if (!confirmed.includes(to)) continue;
      expectedNow.set(dir, 'd');
      expectedNow.set(to, `f ${sha256File(from)}`);
    }
    // What was written but not yet synced may be there, partly or not at all: neither is wrong.
    const unsynced = new Set(names.filter(([, to]) => !confirmed.includes(to)).map(([, to]) => to));
    if (!expectedNow.has(dir) && after.has(dir)) unsynced.add(dir);
    const lost = diffManifests(expectedNow, new Map([...after].filter(([p]) => !unsynced.has(p))));
    problems.push(...lost.map((d) => `after the kill and a remount: ${d}`));
    for (const p of [...unsynced].sort().reverse()) if (after.has(p)) fs.rmSync(path.join(this.mnt, p), { recursive: true, force: true });
    this.liveModel = expectedNow;
    const before = new Set((await this.snapshots()).map((s) => s.id));
    await this.umount(pid);
    await this.adoptNew(before, new Map(this.liveModel), 'unmount');
    return { outcome, problems, detail: `${confirmed.length}/${names.length} files synced before the kill` };
  }

  /** SIGKILLs a mount process (if still alive), waits for it, clears the dead mountpoint; returns problem lines. */
  async killMount(pid) {
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    await waitUntil(`killed mount ${pid} to exit`, () => !isAlive(pid));
    this.mountPids.delete(pid);
    if (!isMounted(this.mnt)) return [];
    const u = await run('fusermount', ['-uz', this.mnt]);
    return u.code === 0 ? [] : [`fusermount -uz failed: ${u.stderr.trim()}`];
  }

  /** The snapshot rounds need a live tree (refs/head): if none was committed yet, one mount writes a file and syncs it. */
  async ensureHead() {
    if (fs.existsSync(path.join(this.store, 'refs', 'head'))) return;
    const pid = await this.mount();
    const from = path.join(this.pool, fs.readdirSync(this.pool).sort()[1]);
    const w = await run('sh', ['-c', `mkdir -p '${this.mnt}/seed' && cp '${from}' '${this.mnt}/seed/first.txt' && sync '${this.mnt}/seed/first.txt'`]);
    if (w.code !== 0) throw new Error(`writing the first file into the mount failed: ${w.stderr.trim()}`);
    this.liveModel.set('seed', 'd');
    this.liveModel.set('seed/first.txt', `f ${sha256File(from)}`);
    const before = new Set((await this.snapshots()).map((s) => s.id));
    await this.umount(pid);
    await this.adoptNew(before, new Map(this.liveModel), 'unmount');
  }

  /**
   * `sinki snapshot` of an unmounted store, killed at a random moment: the store has at most one new
   * snapshot, and it holds exactly the live tree (what refs/head pointed at).
   */
  async snapshotRound(i, delay) {
    await this.ensureHead();
    const before = new Set((await this.snapshots()).map((s) => s.id));
    const tag = `crash-${i}`;
    const { outcome, r } = await this.killedRun('snapshot', ['snapshot', '--tag', tag], delay);
    const problems = [];
    const n = await this.adoptNew(before, new Map(this.liveModel), 'snapshot');
    const fresh = (await this.snapshots()).filter((s) => !before.has(s.id));
    if (fresh.some((s) => !s.tags.includes(tag))) problems.push(`the new snapshot lacks its tag ${tag}`);
    if (outcome === 'completed') {
      const printed = /snapshot ([0-9a-f]+) saved/.exec(r.stdout)?.[1];
      if (n !== 1 || !printed || !fresh[0].id.startsWith(printed)) problems.push(`snapshot said "${r.stdout.trim()}" but the store has ${n} new snapshot(s)`);
    }
    return { outcome, problems, detail: outcome === 'killed' && n ? '(snapshot was already written)' : '' };
  }

  /**
   * A mount holds files copied in but not synced (nothing committed them: --commit-delay is long);
   * `sinki snapshot` asks the mount, over its control socket, to commit and snapshot them, and the
   * mount process is SIGKILLed at a random moment of that (or before the request reached it, when
   * `sinki snapshot` takes the snapshot of refs/head itself). Then: a snapshot the mount confirmed
   * holds every file; any new snapshot holds exactly the live tree found after the remount (the
   * mount writes refs/head before the snapshot); everything committed earlier is still there.
   */
  async mountSnapshotRound(i, delay) {
    const problems = [];
    let pid = await this.mount(['--commit-delay', '10m']);
    const live = () => manifestOf(this.mnt);
    const drift = diffManifests(this.liveModel, live());
    if (drift.length) problems.push(...drift.map((d) => `live tree before writing: ${d}`));
    const dir = `s${i}`;
    const poolFiles = fs.readdirSync(this.pool).sort();
    const names = [];
    const count = 2 + Math.floor(this.random() * 4);
    // Files of this round alone (a pool file with a patch of this round's bytes), so that the mount's
    // commit has new chunks to compress and seal, not blobs it already stores: that is where the kill should land.
    const roundFiles = path.join(this.work, `fresh-${i}`);
    fs.mkdirSync(roundFiles);
    for (let k = 0; k < count; k++) {
      const from = poolFiles[Math.floor(this.random() * poolFiles.length)];
      const bytes = fs.readFileSync(path.join(this.pool, from));
      for (let j = 0; j < 64; j++) bytes[Math.floor(this.random() * bytes.length)] = Math.floor(this.random() * 256);
      const file = path.join(roundFiles, `f${k}${path.extname(from)}`);
      fs.writeFileSync(file, bytes);
      names.push([file, `${dir}/f${k}${path.extname(from)}`]);
    }
    const w = await run('sh', [
      '-c',
      [`mkdir '${this.mnt}/${dir}' || exit 1`, ...names.map(([from, to]) => `cp '${from}' '${this.mnt}/${to}' || exit 1`)].join('\n'),
    ]);
    if (w.code !== 0) throw new Error(`copying into the mount failed: ${w.stderr.trim()}`);
    // Everything copied in: what a snapshot taken by the mount now must hold.
    const full = new Map(this.liveModel);
    full.set(dir, 'd');
    for (const [from, to] of names) full.set(to, `f ${sha256File(from)}`);

    fs.rmSync(roundFiles, { recursive: true, force: true });
    const before = new Set((await this.snapshots()).map((s) => s.id));
    const tag = `crash-${i}`;
    const started = Date.now();
    const job = startGroup(process.execPath, [CLI, '-s', this.store, 'snapshot', '--tag', tag], this.env);
    this.groups.add(job.child.pid);
    let killed = false;
    const killTimer = setTimeout(() => {
      killed = true;
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    }, delay);
    const r = await job.exited;
    clearTimeout(killTimer);
    killGroup(job.child.pid);
    this.groups.delete(job.child.pid);
    const byMount = r.code === 0 && /taken by the running mount/.test(r.stdout);
    const byItself = r.code === 0 && !byMount;
    if (!killed) {
      // The mount answered before the kill: measure, then kill it anyway (what it said is committed must be).
      if (r.code !== 0) throw new Error(`sinki snapshot failed on its own (exit ${r.code}): ${r.stderr.trim()}`);
      this.noteDuration('mount-snapshot', Date.now() - started);
    } else if (delay > 0.85 * this.duration['mount-snapshot'] && !byMount) {
      this.duration['mount-snapshot'] = Math.round(this.duration['mount-snapshot'] * 1.25);
    }
    problems.push(...(await this.killMount(pid)));
    const outcome = killed && !byMount ? 'killed' : 'completed';

    const fresh = (await this.snapshots()).filter((s) => !before.has(s.id));
    if (fresh.length > 1) problems.push(`sinki snapshot left ${fresh.length} new snapshots, expected at most one`);
    const printed = /snapshot ([0-9a-f]+) saved/.exec(r.stdout)?.[1];
    if (r.code === 0 && (fresh.length !== 1 || !printed || !fresh[0].id.startsWith(printed)))
      problems.push(`sinki snapshot said "${r.stdout.trim()}" but the store has ${fresh.length} new snapshot(s)`);

    pid = await this.mount();
    const after = live();
    // Nothing committed before this round may be lost, whatever happened to the new files.
    const earlier = diffManifests(this.liveModel, new Map([...after].filter(([p]) => this.liveModel.has(p))));
    problems.push(...earlier.map((d) => `after the kill and a remount: ${d}`));
    for (const p of after.keys()) if (!this.liveModel.has(p) && !full.has(p)) problems.push(`after the kill and a remount: unexpected ${p}`);
    // A snapshot the mount took (confirmed, or written before the kill cut its answer) holds every file copied in, and so does refs/head.
    const mountTookIt = byMount || (!byItself && fresh.length === 1);
    if (mountTookIt) problems.push(...diffManifests(full, after).map((d) => `live tree after a snapshot by the mount: ${d}`));
    for (const s of fresh) {
      // By the mount: every file; by `sinki snapshot` itself (the mount was dead): refs/head, which is what the remount shows.
      this.expected.set(s.id, mountTookIt ? full : new Map(after));
      this.required.add(s.id);
      if (!s.tags.includes(tag)) problems.push(`the new snapshot lacks its tag ${tag}`);
    }
    // Files that no commit took whole (the kill came first) are removed: the live tree is again what is known.
    for (const [, to] of names) {
      if (after.has(to) && after.get(to) !== full.get(to)) fs.rmSync(path.join(this.mnt, to), { force: true });
    }
    this.liveModel = new Map([...after].filter(([p]) => !full.has(p) || after.get(p) === full.get(p)));
    if (!this.liveModel.has(dir) && after.has(dir)) fs.rmSync(path.join(this.mnt, dir), { recursive: true, force: true });
    const beforeUnmount = new Set((await this.snapshots()).map((s) => s.id));
    await this.umount(pid);
    await this.adoptNew(beforeUnmount, new Map(this.liveModel), 'unmount');
    const how = byMount
      ? 'taken by the mount'
      : byItself
        ? 'taken by sinki snapshot itself (the mount was gone)'
        : fresh.length
          ? 'written by the mount before the kill, unanswered'
          : 'none written';
    return { outcome, problems, detail: `${names.length} unsynced files; snapshot: ${how}` };
  }

  /** Restores a snapshot and compares it with its manifest; returns problem lines. */
  async verifyRestore(store, id, label) {
    const target = path.join(this.work, `restore-${this.restoreCount++}`);
    try {
      const r = await this.sinki(['restore', id, target], store);
      if (r.code !== 0) return [`${label}: restore of snapshot ${id.slice(0, 12)} exited ${r.code}: ${r.stderr.trim().split('\n')[0]}`];
      const manifest = this.expected.get(id);
      if (!manifest) return [`${label}: snapshot ${id.slice(0, 12)} was never made by this suite`];
      return diffManifests(manifest, manifestOf(target)).map((d) => `${label}: snapshot ${id.slice(0, 12)}: ${d}`);
    } finally {
      fs.rmSync(target, { recursive: true, force: true });
    }
  }

  /** check --read-data, then every snapshot restores as it was made. */
  async verifyStore(store = this.store, label = 'store', requiredIds = this.required) {
    const problems = [];
    const check = await this.sinki(['check', '--read-data'], store);
    const errors = check.stderr.split('\n').filter((l) => l && !l.startsWith('note: '));
    if (check.code !== 0 || errors.length) problems.push(`${label}: check --read-data exited ${check.code}: ${errors.join(' | ').slice(0, 1500)}`);
    const snaps = await this.snapshots(store).catch((err) => {
      problems.push(`${label}: ${err.message}`);
      return [];
    });
    const ids = new Set(snaps.map((s) => s.id));
    for (const id of requiredIds) if (!ids.has(id)) problems.push(`${label}: snapshot ${id.slice(0, 12)} is gone`);
    for (let k = 0; k < snaps.length; k += 2) {
      const pair = snaps.slice(k, k + 2).map((s) => this.verifyRestore(store, s.id, label));
      for (const lines of await Promise.all(pair)) problems.push(...lines);
    }
    return problems;
  }

  /** The remote, as the killed push left it: a store that checks clean and restores, or nothing yet. */
  async verifyRemote() {
    if (!fs.existsSync(path.join(this.remote, 'sinki.json'))) {
      const leftovers = fs.existsSync(this.remote) ? fs.readdirSync(this.remote) : [];
      return leftovers.some((n) => n !== 'keys') ? [`remote: has ${leftovers.join(', ')} but no sinki.json`] : [];
    }
    const problems = await this.verifyStore(this.remote, 'remote', new Set());
    this.remoteSnapshots = (await this.snapshots(this.remote).catch(() => [])).length;
    return problems;
  }

  /** Every lock left must be a stale one (its process gone): no command may leak a lock of a live process. */
  leftoverLocks() {
    const dir = path.join(this.store, 'locks');
    const problems = [];
    for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
      try {
        const lock = JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8'));
        if (isAlive(lock.pid, lock.started)) problems.push(`lock ${name} of live pid ${lock.pid} (${lock.purpose}) left behind`);
      } catch {
        problems.push(`lock ${name} is not readable`);
      }
    }
    return problems;
  }

  /** `sinki unlock` clears what killed processes left; afterwards locks/ is empty. */
  async finalUnlock() {
    const r = await this.sinkiOk(['unlock']);
    const dir = path.join(this.store, 'locks');
    const left = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
    return { removed: Number(/removed (\d+)/.exec(r.stdout)?.[1] ?? 0), left };
  }

  /** Unmounts and kills only what this suite started. */
  async cleanup() {
    for (const pid of this.mountPids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    for (const pgid of this.groups) killGroup(pgid);
    if (fs.existsSync(this.mnt) && isMounted(this.mnt)) await run('fusermount', ['-uz', this.mnt]);
  }
}

/** Runs `rounds` rounds, cycling through `ops` so each is covered; returns per-operation figures. */
export async function runCrashRounds({ suite, rounds, ops = OPERATIONS }) {
  const records = [];
  for (let i = 1; i <= rounds; i++) records.push(await suite.round(i, ops[(i - 1) % ops.length]));
  const byOp = {};
  for (const op of ops) {
    const mine = records.filter((r) => r.op === op);
    byOp[op] = {
      rounds: mine.length,
      killed: mine.filter((r) => r.outcome === 'killed').length,
      completed: mine.filter((r) => r.outcome === 'completed').length,
      survived: mine.filter((r) => r.problems.length === 0).length,
    };
  }
  return { records, byOp, failures: records.filter((r) => r.problems.length > 0) };
}
