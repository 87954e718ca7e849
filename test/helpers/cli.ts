import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

/** dist/cli/main.js, built by the global setup; SINKI_TEST_CLI=<dir>/cli/main.js builds and tests another output folder (for several checkouts' worth of work at once). */
export const CLI = process.env.SINKI_TEST_CLI ?? fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
export const PASSWORD = 'correct horse battery staple';
/** Fast key derivation for tests: 1000 PBKDF2 iterations, below the floor for real keys, so with the override. */
export const FAST_KDF = ['--kdf', 'pbkdf2', '--kdf-iterations', '1000', '--insecure-kdf'];

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout as raw bytes (for `cat` of binary files). */
  stdoutBytes: Buffer;
}

export interface RunOptions {
  cwd?: string;
  /** Written to the child's stdin (a pipe, never a TTY). */
  input?: string | Buffer;
  /** Extra environment; a value of undefined removes the variable. */
  env?: Record<string, string | undefined>;
}

/** Runs any program to completion; never throws on a non-zero exit. */
export function run(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const [k, v] of Object.entries(options.env ?? {})) {
      if (v === undefined) delete env[k];
      else env[k] = v;
    }
    const child = spawn(cmd, args, { cwd: options.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const stdoutBytes = Buffer.concat(out);
      resolve({ code: code ?? (signal ? 128 : -1), stdout: stdoutBytes.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), stdoutBytes });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

export interface SinkiOptions extends RunOptions {
  /** The store (-s); omitted when null. */
  store?: string | null;
  /** SINKI_PASSWORD; null leaves it unset. */
  password?: string | null;
}

/** `node dist/cli/main.js [-s store] ...args` with SINKI_PASSWORD set, and nothing else of sinki's from the outer environment. */
export function sinki(args: readonly string[], options: SinkiOptions = {}): Promise<RunResult> {
  const password = options.password === undefined ? PASSWORD : options.password;
  const storeArgs = options.store ? ['-s', options.store] : [];
  return run(process.execPath, [CLI, ...storeArgs, ...args], {
    ...options,
    env: { SINKI_STORE: undefined, SINKI_NEW_PASSWORD: undefined, SINKI_PASSWORD: password ?? undefined, ...options.env },
  });
}

/** Like sinki(), but fails the test (showing stderr) unless the exit code is 0. */
export async function sinkiOk(args: readonly string[], options: SinkiOptions = {}): Promise<RunResult> {
  const r = await sinki(args, options);
  if (r.code !== 0) throw new Error(`sinki ${args.join(' ')} exited ${r.code}\nstderr: ${r.stderr}\nstdout: ${r.stdout.slice(0, 2000)}`);
  return r;
}

/** Creates a store with fast key derivation; returns the init output. */
export function initStore(store: string, extra: readonly string[] = [], options: SinkiOptions = {}): Promise<RunResult> {
  return sinkiOk(['init', ...FAST_KDF, ...extra], { ...options, store });
}

/** The last JSON line of --json output with the given type (the summary of backup/restore). */
export function jsonLine<T = Record<string, unknown>>(stdout: string, type: string): T {
  const lines = stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const found = lines.filter((l) => l.type === type).at(-1);
  if (!found) throw new Error(`no ${type} line in:\n${stdout}`);
  return found as T;
}

/** Every line of `ls --json` output, parsed. */
export function lsEntries(stdout: string): Array<{ path: string; type: string; size: number; mode: number; target?: string; sha256?: string }> {
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

/**
 * The error contract: the exact exit code, and exactly one line on stderr that starts with
 * "sinki: " (no stack trace, no second line).
 */
export function expectOneErrorLine(r: RunResult, exitCode: number, pattern?: RegExp): void {
  const lines = r.stderr.replace(/\n$/, '').split('\n');
  expect({ code: r.code, lines }).toEqual({ code: exitCode, lines: [expect.stringMatching(/^sinki: \S/)] });
  expect(r.stderr).not.toMatch(/^\s+at /m);
  if (pattern) expect(lines[0]).toMatch(pattern);
}
