/*
 * Progress lines: on a terminal (a pty made by script(1)) a line rewritten in place; on a pipe
 * nothing, unless --progress (then plain lines); --quiet silences it everywhere. --json output is
 * never mixed with it.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, PASSWORD, initStore, run, sinki, sinkiOk } from '../helpers/cli.js';
import { pseudoRandomBytes } from '../helpers/files.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';

let dir: string;
let store: string;
let src: string;

beforeAll(async () => {
  dir = await tempDir('progress');
  store = join(dir, 'store');
  src = join(dir, 'src');
  await fs.mkdir(src);
  for (let i = 0; i < 6; i++) await fs.writeFile(join(src, `f${i}.bin`), pseudoRandomBytes(`p${i}`, 3 * 1024 * 1024));
  await initStore(store);
}, 60_000);

afterAll(removeTempDirs);

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `sinki ARGS` on a terminal: script(1) gives it a pty; what it wrote there, raw. */
async function onTerminal(args: string[]): Promise<string> {
  const quoted = [process.execPath, CLI, '-s', store, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = await run('script', ['-qec', quoted, '/dev/null'], { env: { SINKI_PASSWORD: PASSWORD, SINKI_STORE: undefined, COLUMNS: '200' } });
  expect(r.code).toBe(0);
  return r.stdout;
}

describe('progress', () => {
  it('on a pipe: nothing without --progress, plain lines with it, nothing with --quiet', async () => {
    const plain = await sinkiOk(['backup', src], { store });
    expect(plain.stderr).toBe('');
    const forced = await sinkiOk(['--progress', 'backup', src], { store });
    expect(forced.stderr).toMatch(/^backup .*\d+ files .*ETA .* elapsed\n/m);
    expect(forced.stderr).not.toContain('\r');
    const quiet = await sinkiOk(['--progress', '--quiet', 'backup', src], { store });
    expect(quiet.stderr).toBe('');

    const target = join(dir, 'restored');
    const restored = await sinkiOk(['--progress', 'restore', 'latest', target], { store });
    expect(restored.stderr).toMatch(/^restore .* files .*elapsed\n/m);
    const checked = await sinkiOk(['--progress', 'check', '--read-data'], { store });
    expect(checked.stderr).toMatch(/^check: read (\d+)\/\1 packs +100\.0%/m);
    const pushed = await sinkiOk(['--progress', 'push', join(dir, 'mirror')], { store });
    expect(pushed.stderr).toMatch(/^push \w+: .* files .*elapsed\n/m);
    expect((await sinkiOk(['push', join(dir, 'mirror2')], { store })).stderr).toBe('');
  }, 120_000);

  it('--json is never mixed with progress lines, --progress or not', async () => {
    const r = await sinkiOk(['--progress', 'check', '--read-data', '--json'], { store });
    expect(r.stderr).toBe('');
    for (const line of r.stdout.trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
  });

  it('on a terminal: a line rewritten in place, cleared at the end; --quiet shows none', async () => {
    const shown = await onTerminal(['check', '--read-data']);
    const clear = '\r\u001b[K';
    expect(shown).toMatch(new RegExp(`${escapeRe(clear)}check: read \\d+/\\d+ packs`));
    // Cleared before the summary is printed.
    expect(shown).toMatch(new RegExp(`${escapeRe(clear)}no errors were found`));
    const quiet = await onTerminal(['--quiet', 'check', '--read-data']);
    expect(quiet).not.toContain('check: read');
    expect(quiet).not.toContain('\x1b[K');
  }, 60_000);
});

// A failing command still exits with its own code under --progress (progress never changes it).
describe('progress and failures', () => {
  it('a wrong store under --progress is the usual one line and exit code', async () => {
    const r = await sinki(['--progress', 'check'], { store: join(dir, 'nothing-here') });
    expect(r.code).toBe(10);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
