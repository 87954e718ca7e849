/*
 * A loopback rclone lab for the remote tests: a throwaway rclone config (RCLONE_CONFIG), remotes
 * served by real `rclone serve webdav|sftp` children on 127.0.0.1, and the sinki CLI run with that
 * environment. `lab.close()` (afterAll) stops every server and mount it started, by pid, and
 * removes its folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { promises as fs, readdirSync, readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';

import { isMountPoint } from '../../src/sys/mounts.js';
import { CLI, FAST_KDF, run, type RunOptions, type RunResult } from '../helpers/cli.js';
import { sha256 } from '../helpers/files.js';

export { CLI, run, sha256, type RunOptions, type RunResult };
export const PASSWORD = 'remote lab password';
export const KiB = 1024;
export const MiB = 1024 * KiB;

/** Deterministic incompressible bytes. */
export function randomData(seed: string, length: number): Buffer {
  const key = createHash('sha256').update(`sinki-remote-${seed}`).digest();
  const cipher = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
  return Buffer.concat([cipher.update(Buffer.alloc(length)), cipher.final()]);
}

export { bytesBelow, filesBelow } from '../helpers/files.js';

/** The exact exit code and exactly one "sinki: ..." line on stderr, no stack. */
export function expectOneErrorLine(r: RunResult, exitCode: number, pattern?: RegExp): void {
  const lines = r.stderr.replace(/\n$/, '').split('\n');
  expect({ code: r.code, lines }).toEqual({ code: exitCode, lines: [expect.stringMatching(/^sinki: \S/)] });
  if (pattern) expect(lines[0]).toMatch(pattern);
}

/** The last JSON line of a given type in --json output. */
export function jsonLine<T = Record<string, unknown>>(stdout: string, type: string): T {
  const found = stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.type === type)
    .at(-1);
  if (!found) throw new Error(`no ${type} line in:\n${stdout}`);
  return found as T;
}

export interface PushSummary {
  bytes: number;
  files: number;
  dry_run: boolean;
  phases: Array<{ name: string; bytes: number; transfers: number }>;
  verified: { objects: number; bad: string[] } | null;
}

export async function waitFor(what: string, test: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Bytes a process has written so far (files, pipes and sockets alike): /proc/PID/io wchar. */
export function bytesWritten(pid: number): number {
  return Number(/^wchar:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1]);
}

/** Child pids of a process (all its threads' children). */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const tid of readdirSafe(`/proc/${pid}/task`)) {
    try {
      out.push(...readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number));
    } catch {
      // the thread ended
    }
  }
  return out;
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
    s.on('error', rej);
  });
}

function listening(port: number): Promise<boolean> {
  return new Promise((res) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      res(true);
    });
    socket.once('error', () => res(false));
  });
}

export interface Served {
  /** The rclone remote name in the lab's config ("w:", "f:"). */
  name: string;
  /** The folder it serves: what the remote holds, on local disk. */
  dir: string;
  pid: number;
}

/** One test file's remotes, config, temp folders, servers and mounts. */
export class RemoteLab {
  private readonly servers: ChildProcess[] = [];
  private readonly mounts = new Map<string, number>();
  private configText = '';

  private constructor(readonly root: string) {}

  static async create(label: string): Promise<RemoteLab> {
    const root = await fs.mkdtemp(join(tmpdir(), `sinki-remote-${label}-`));
    const lab = new RemoteLab(root);
    for (const d of ['tmp', 'cache', 'local']) await fs.mkdir(join(root, d));
    // "l:" is a local-path remote: `l:/abs/path`.
    await lab.addConfig('[l]\ntype = local\n');
    return lab;
  }

  get configFile(): string {
    return join(this.root, 'rclone.conf');
  }

  /** Private TMPDIR of every sinki run: `backup --from` stages here, mounts put their control socket here. */
  get tmp(): string {
    return join(this.root, 'tmp');
  }

  get env(): Record<string, string | undefined> {
    return {
      RCLONE_CONFIG: this.configFile,
      XDG_CACHE_HOME: join(this.root, 'cache'),
      TMPDIR: this.tmp,
      SINKI_PASSWORD: PASSWORD,
      SINKI_STORE: undefined,
      SINKI_RCLONE: undefined,
    };
  }

  async dir(name: string): Promise<string> {
    const d = join(this.root, name);
    await fs.mkdir(d, { recursive: true });
    return d;
  }

  private async addConfig(section: string): Promise<void> {
    this.configText += `${section}\n`;
    await fs.writeFile(this.configFile, this.configText, { mode: 0o600 });
  }

  private async serve(name: string, args: (port: number, dir: string) => string[]): Promise<Served & { port: number }> {
    const dir = await this.dir(`served-${name}`);
    const port = await freePort();
    const child = spawn('rclone', args(port, dir), { env: { ...process.env, RCLONE_CONFIG: this.configFile }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    this.servers.push(child);
    await waitFor(`rclone serve on port ${port} (${stderr})`, async () => {
      if (child.exitCode !== null) throw new Error(`rclone ${args(port, dir).join(' ')} exited: ${stderr}`);
      return listening(port);
    });
    return { name: `${name}:`, dir, pid: child.pid!, port };
  }

  /** `rclone serve webdav DIR` on loopback, as remote NAME. */
  async webdav(name = 'w'): Promise<Served> {
    const s = await this.serve(name, (port, dir) => ['serve', 'webdav', dir, '--addr', `127.0.0.1:${port}`, '--dir-cache-time', '1s']);
    await this.addConfig(`[${name}]\ntype = webdav\nurl = http://127.0.0.1:${s.port}\nvendor = other\n`);
    return s;
  }

  /** `rclone serve sftp DIR` on loopback with a user and password, as remote NAME. */
  async sftp(name = 'f'): Promise<Served> {
    const s = await this.serve(name, (port, dir) => [
      'serve',
      'sftp',
      dir,
      '--addr',
      `127.0.0.1:${port}`,
      '--user',
      'u',
      '--pass',
      'p',
      '--dir-cache-time',
      '1s',
    ]);
    const obscured = (await run('rclone', ['obscure', 'p'])).stdout.trim();
    await this.addConfig(`[${name}]\ntype = sftp\nhost = 127.0.0.1\nport = ${s.port}\nuser = u\npass = ${obscured}\n`);
    return s;
  }

  /** The sinki CLI with the lab's environment; `store` becomes -s. */
  sinki(args: readonly string[], options: { store?: string; env?: Record<string, string | undefined> } = {}): Promise<RunResult> {
    const storeArgs = options.store ? ['-s', options.store] : [];
    return run(process.execPath, [CLI, ...storeArgs, ...args], { env: { ...this.env, ...options.env } });
  }

  async sinkiOk(args: readonly string[], options: { store?: string; env?: Record<string, string | undefined> } = {}): Promise<RunResult> {
    const r = await this.sinki(args, options);
    if (r.code !== 0) throw new Error(`sinki ${args.join(' ')} exited ${r.code}\nstderr: ${r.stderr}\nstdout: ${r.stdout.slice(0, 2000)}`);
    return r;
  }

  /** A local store with fast key derivation (and any extra `init` flags). */
  async store(name: string, initArgs: readonly string[] = []): Promise<string> {
    const path = join(this.root, name);
    await this.sinkiOk(['init', ...FAST_KDF, ...initArgs], { store: path });
    return path;
  }

  /** `sinki -s STORE [GLOBALS] mount MNT --background [FLAGS]`; the mount process pid. */
  async mount(store: string, mnt: string, options: { globals?: string[]; flags?: string[] } = {}): Promise<number> {
    await fs.mkdir(mnt, { recursive: true });
    const r = await this.sinki([...(options.globals ?? []), 'mount', mnt, '--background', ...(options.flags ?? [])], { store });
    const pid = Number(/\(pid (\d+),/.exec(r.stdout)?.[1]);
    if (pid) this.mounts.set(resolve(mnt), pid);
    if (r.code !== 0 || !pid) throw new Error(`sinki mount exited ${r.code}\nstderr: ${r.stderr}\nstdout: ${r.stdout}`);
    return pid;
  }

  async umount(mnt: string): Promise<void> {
    const pid = this.mounts.get(resolve(mnt));
    await this.sinkiOk(['umount', mnt]);
    if (pid) await waitFor(`mount process ${pid} to exit`, () => !isAlive(pid));
    this.mounts.delete(resolve(mnt));
  }

  /** afterAll: unmount what is left, stop mount processes and servers (by pid), remove the lab. */
  async close(): Promise<void> {
    for (const [mnt, pid] of this.mounts) {
      if (await isMountPoint(mnt)) {
        await Promise.race([this.sinki(['umount', mnt]), new Promise((r) => setTimeout(r, 15_000))]);
        await run('fusermount', ['-uz', mnt]);
      }
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
    this.mounts.clear();
    for (const child of this.servers) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
    }
    this.servers.length = 0;
    await fs.rm(this.root, { recursive: true, force: true });
  }
}
