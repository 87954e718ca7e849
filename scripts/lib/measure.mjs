// measure.mjs — run a command and measure its wall time and peak memory (Linux only).
//
// Peak RSS is the largest of:
//   - GNU time's %M (exact ru_maxrss of the command, via wait4) when /usr/bin/time is GNU time;
//   - the highest VmHWM seen for any process of the command's tree (polled from /proc);
//   - the highest sum of VmRSS over the whole tree at one poll (catches pipelines like tar | xz,
//     where several processes hold memory at the same time).
// Polling runs every POLL_MS; a process that peaks within the last few ms before it exits can be
// missed by the poll, which is why GNU time is used when present.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const POLL_MS = 25;

/** @type {string | null} */
let gnuTimeChecked = null;
/** Path of GNU time, or null when not installed (`apt-get install time`). */
export function gnuTime() {
  if (gnuTimeChecked !== null) return gnuTimeChecked || null;
  const r = spawnSync('/usr/bin/time', ['--version'], { encoding: 'utf8' });
  gnuTimeChecked = r.status === 0 && /GNU/.test(`${r.stdout}${r.stderr}`) ? '/usr/bin/time' : '';
  return gnuTimeChecked || null;
}

function readStatusKiB(pid, field) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = s.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function childrenOf(pid) {
  const out = [];
  let tasks;
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    try {
      for (const c of fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(/\s+/)) if (c) out.push(Number(c));
    } catch {
      /* gone, or kernel without CONFIG_PROC_CHILDREN: fall back to a scan below */
    }
  }
  return out;
}

function childrenByScan(pid) {
  const out = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

const hasChildrenFile = fs.existsSync(`/proc/${process.pid}/task/${process.pid}/children`);

function tree(root) {
  const all = [];
  const stack = [root];
  while (stack.length) {
    const p = stack.pop();
    all.push(p);
    stack.push(...(hasChildrenFile ? childrenOf(p) : childrenByScan(p)));
  }
  return all;
}

/**
 * Run `cmd args` and wait for it. Returns { seconds, peakRss (bytes), cpuSeconds, code, stdout, stderr }.
 * opts: cwd, env, stdin (a file path to read stdin from), captureStdout (default true),
 * allowFail (default false: a non-zero exit throws with the stderr tail).
 */
export async function measure(cmd, args, opts = {}) {
  const time = gnuTime();
  const timeOut = time ? path.join(os.tmpdir(), `bench-time-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`) : null;
  const argv = time ? [time, '-f', '%M %U %S', '-o', timeOut, cmd, ...args] : [cmd, ...args];
  const stdinFd = opts.stdin ? fs.openSync(opts.stdin, 'r') : 'ignore';
  const t0 = performance.now();
  const child = spawn(argv[0], argv.slice(1), {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: [stdinFd, opts.captureStdout === false ? 'ignore' : 'pipe', 'pipe'],
  });
  const stdout = [];
  const stderr = [];
  child.stdout?.on('data', (b) => stdout.push(b));
  child.stderr?.on('data', (b) => stderr.push(b));
  let maxHwmKiB = 0;
  let maxSumKiB = 0;
  const poll = () => {
    let sum = 0;
    for (const pid of tree(child.pid)) {
      if (time && pid === child.pid) continue; // the GNU time wrapper itself
      sum += readStatusKiB(pid, 'VmRSS');
      maxHwmKiB = Math.max(maxHwmKiB, readStatusKiB(pid, 'VmHWM'));
    }
    maxSumKiB = Math.max(maxSumKiB, sum);
  };
  const timer = setInterval(poll, POLL_MS);
  const code = await new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c, sig) => resolve(sig ? 128 + os.constants.signals[sig] : c));
  });
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(timer);
  if (typeof stdinFd === 'number') fs.closeSync(stdinFd);
  let timeKiB = 0;
  /** @type {number | null} */
  let cpuSeconds = null;
  if (timeOut) {
    try {
      const lines = fs.readFileSync(timeOut, 'utf8').trim().split('\n');
      // a failing command adds a "Command exited" line first
      const [m, u, s] = lines[lines.length - 1].split(' ').map(Number);
      timeKiB = m || 0;
      if (Number.isFinite(u) && Number.isFinite(s)) cpuSeconds = u + s;
    } catch {
      /* no output */
    }
    fs.rmSync(timeOut, { force: true });
  }
  const result = {
    seconds,
    peakRss: Math.max(timeKiB, maxHwmKiB, maxSumKiB) * 1024,
    cpuSeconds, // user + system of the command and its children (GNU time only; else null)
    code,
    stdout: Buffer.concat(stdout).toString('utf8'),
    stderr: Buffer.concat(stderr).toString('utf8'),
  };
  if (code !== 0 && !opts.allowFail) {
    const tail = result.stderr.trim().split('\n').slice(-15).join('\n');
    throw new Error(`command failed (exit ${code}): ${[cmd, ...args].join(' ')}${opts.cwd ? ` [in ${opts.cwd}]` : ''}\n${tail}`);
  }
  return result;
}

/** Run a shell line synchronously; throws on failure; returns stdout. */
export function sh(line, opts = {}) {
  const r = spawnSync('bash', ['-o', 'pipefail', '-c', line], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...opts });
  if (r.status !== 0) throw new Error(`shell command failed (exit ${r.status}): ${line}\n${(r.stderr || '').trim().split('\n').slice(-15).join('\n')}`);
  return r.stdout;
}

/** Read every regular file below PATH (or PATH itself) once, so the next measured command finds it in the page cache. */
export function warmPageCache(p) {
  sh(`find ${shq(p)} -type f -print0 | xargs -0 -r cat > /dev/null`);
}

export function shq(s) {
  return `'${String(s).replace(/'/g, `'\\''`)}'`;
}
