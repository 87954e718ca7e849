/*
 * Key files from a hostile store. Anyone who can write to a store (a shared disk, the rclone
 * remote) can add a key file: its checksum is no secret. Such a file must not hang or weaken sinki:
 * its KDF parameters are capped, the key used last here is tried first, then the cheapest, at most
 * 20 key files are tried, and unusable ones are skipped with a warning when another key opens.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withChecksum } from '../../src/crypto/canonical.js';
import { CLI, expectOneErrorLine, FAST_KDF, initStore, PASSWORD, run, sinkiOk, type RunResult } from '../helpers/cli.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';

/**
 * Before the caps, some of these commands ran for hours; the guard kills such a run (SIGKILL)
 * instead of leaving it to burn a core after the test has failed. It is no time limit on sinki:
 * every command here needs well under a second.
 */
const GUARD_SECONDS = 100;

let work: string;
let pristine: string;
let n = 0;

/** The CLI with a private cache folder (so the key memory of each case is its own), under the guard. */
function sinki(args: readonly string[], o: { store: string; cache: string; password?: string; env?: Record<string, string> }): Promise<RunResult> {
  return run('timeout', ['-s', 'KILL', String(GUARD_SECONDS), process.execPath, CLI, '-s', o.store, ...args], {
    env: { SINKI_STORE: undefined, SINKI_NEW_PASSWORD: undefined, SINKI_PASSWORD: o.password ?? PASSWORD, XDG_CACHE_HOME: o.cache, ...o.env },
  });
}

/** A copy of the store with its own cache folder, and the id of its real key. */
async function freshCase(): Promise<{ store: string; cache: string; realKey: string }> {
  const dir = join(work, `case-${n++}`);
  const store = join(dir, 'store');
  await fs.cp(pristine, store, { recursive: true });
  const [name] = await fs.readdir(join(store, 'keys'));
  return { store, cache: join(dir, 'cache'), realKey: name!.replace(/\.json$/, '') };
}

/** A key file as a stranger can write it: any KDF parameters, sealed bytes that open nothing, a valid checksum. */
async function plant(store: string, id: string, kdf: Record<string, unknown>): Promise<void> {
  const file = withChecksum({
    version: 1,
    id,
    created: '2026-01-01T00:00:00.000Z',
    host: 'elsewhere',
    kdf: { salt: 'c2FsdHNhbHRzYWx0c2FsdA==', ...kdf },
    sealed: Buffer.alloc(80, 7).toString('base64'),
  });
  await fs.writeFile(join(store, 'keys', `${id}.json`), JSON.stringify(file));
}

const HUGE_PBKDF2 = { name: 'pbkdf2', hash: 'sha256', iterations: 2 ** 31 - 1 };
const HUGE_SCRYPT = { name: 'scrypt', N: 2 ** 24, r: 64, p: 64 };
/** As cheap as the test stores' own keys (1000 PBKDF2 iterations): no cost order puts the real key first. */
const AS_CHEAP = { name: 'pbkdf2', hash: 'sha256', iterations: 1000 };
/** Sorts before any key id sinki makes (16 random hex digits). */
const FIRST = '0000000000000000';

const stderrLines = (r: RunResult): string[] => r.stderr.split('\n').filter(Boolean);
const tried = (r: RunResult): string[] => stderrLines(r).flatMap((l) => /^sinki: trying key (\S+) /.exec(l)?.[1] ?? []);

beforeAll(async () => {
  work = await tempDir('keyfiles');
  pristine = join(work, 'store');
  const src = join(work, 'src');
  await fs.mkdir(src);
  await fs.writeFile(join(src, 'f.txt'), 'kept safe\n');
  await initStore(pristine);
  await sinkiOk(['backup', src], { store: pristine });
});

afterAll(removeTempDirs);

describe.concurrent('KDF parameters beyond the caps', () => {
  it.each([
    ['2^31-1 PBKDF2 iterations', HUGE_PBKDF2, /refused: it asks for 2147483647 PBKDF2 iterations, above the limit of 10000000; skipped$/],
    [
      'scrypt N=2^24 r=64 p=64 (128 GiB)',
      HUGE_SCRYPT,
      /refused: it asks for scrypt N=16777216 r=64: 131072 MiB of memory, above the limit of 512 MiB; skipped$/,
    ],
  ])(
    'a planted key file asking for %s, sorted first: the store opens with its own key at once, with one warning line naming the file',
    async (_name, kdf, warning) => {
      const c = await freshCase();
      await plant(c.store, FIRST, kdf);
      const r = await sinki(['cat', 'latest', 'src/f.txt'], c);
      expect({ code: r.code, stdout: r.stdout, stderr: stderrLines(r) }).toEqual({
        code: 0,
        stdout: 'kept safe\n',
        stderr: [expect.stringMatching(new RegExp(`^sinki: warning: key file keys/${FIRST}\\.json ${warning.source}`))],
      });
    },
  );

  it('the planted key file alone: exit 13, one line naming the file and the limit', async () => {
    const c = await freshCase();
    await fs.rm(join(c.store, 'keys', `${c.realKey}.json`));
    await plant(c.store, FIRST, HUGE_PBKDF2);
    expectOneErrorLine(
      await sinki(['snapshots'], c),
      13,
      new RegExp(`^sinki: key file keys/${FIRST}\\.json refused: it asks for 2147483647 PBKDF2 iterations, above the limit of 10000000$`),
    );
    await fs.writeFile(
      join(c.store, 'keys', `${FIRST}.json`),
      JSON.stringify(withChecksum({ version: 1, id: FIRST, created: '', host: '', kdf: { ...HUGE_SCRYPT, salt: 'AAAA' }, sealed: 'AAAA' })),
    );
    expectOneErrorLine(await sinki(['snapshots'], c), 13, /refused: it asks for scrypt N=16777216 r=64: 131072 MiB of memory/);
  });

  it('with a wrong password: exit 12, one line that also names the refused file', async () => {
    const c = await freshCase();
    await plant(c.store, FIRST, HUGE_PBKDF2);
    expectOneErrorLine(
      await sinki(['snapshots'], { ...c, password: 'not it' }),
      12,
      new RegExp(`^sinki: wrong password: no key of this store opens with it \\(and key file keys/${FIRST}\\.json refused: .*\\)$`),
    );
  });

  it('key list shows the planted file as unusable and check reports it (13), neither runs its KDF', async () => {
    const c = await freshCase();
    await plant(c.store, FIRST, HUGE_PBKDF2);
    const list = await sinki(['key', 'list'], c);
    expect({ code: list.code, stderr: list.stderr }).toEqual({ code: 0, stderr: '' });
    expect(list.stdout).toContain(`  ${FIRST}  unusable: key file keys/${FIRST}.json refused: it asks for 2147483647 PBKDF2 iterations`);
    const check = await sinki(['check'], c);
    expect({ code: check.code, stderr: stderrLines(check) }).toEqual({
      code: 13,
      stderr: [`error: key file keys/${FIRST}.json refused: it asks for 2147483647 PBKDF2 iterations, above the limit of 10000000`],
    });
  });
});

describe.concurrent('key files that are not key files', () => {
  it('one too large and one not JSON are skipped with a warning each when the real key opens; alone, exit 13 with one line', async () => {
    const c = await freshCase();
    await fs.writeFile(join(c.store, 'keys', `${FIRST}.json`), Buffer.alloc(4 * 1024 * 1024, 0x20));
    await fs.writeFile(join(c.store, 'keys', '0000000000000001.json'), 'not a key file');
    const r = await sinki(['cat', 'latest', 'src/f.txt'], c);
    expect({ code: r.code, stdout: r.stdout, stderr: stderrLines(r) }).toEqual({
      code: 0,
      stdout: 'kept safe\n',
      stderr: [
        `sinki: warning: key file keys/${FIRST}.json refused: 4194304 bytes, a key file has at most 65536; skipped`,
        'sinki: warning: key file keys/0000000000000001.json is damaged (not valid JSON); skipped',
      ],
    });
    await fs.rm(join(c.store, 'keys', `${c.realKey}.json`));
    await fs.rm(join(c.store, 'keys', '0000000000000001.json'));
    expectOneErrorLine(await sinki(['snapshots'], c), 13, new RegExp(`^sinki: key file keys/${FIRST}\\.json refused: 4194304 bytes`));
  });
});

describe.concurrent('which key files are tried', () => {
  it('a planted key file sorted first is never derived once the real key has opened the store on this machine', async () => {
    const c = await freshCase();
    await plant(c.store, FIRST, AS_CHEAP);
    // No memory yet: as cheap as the real key, the planted one comes first by name.
    const first = await sinki(['-v', 'snapshots'], c);
    expect({ code: first.code, tried: tried(first) }).toEqual({ code: 0, tried: [FIRST, c.realKey] });
    const storeId = (JSON.parse(await fs.readFile(join(c.store, 'sinki.json'), 'utf8')) as { id: string }).id;
    expect(await fs.readFile(join(c.cache, 'sinki', 'keys-used'), 'utf8')).toBe(`${storeId} ${c.realKey}\n`);
    // Remembered: the real key first, the planted one is not touched.
    const again = await sinki(['-v', 'snapshots'], c);
    expect({ code: again.code, tried: tried(again) }).toEqual({ code: 0, tried: [c.realKey] });
  });

  it('on a machine that has not opened the store yet, a planted key file at the caps is tried after the real key (cheapest first)', async () => {
    const c = await freshCase();
    await plant(c.store, FIRST, { name: 'pbkdf2', hash: 'sha256', iterations: 10_000_000 });
    await plant(c.store, '0000000000000001', { name: 'scrypt', N: 2 ** 19, r: 8, p: 1 });
    const r = await sinki(['-v', 'snapshots'], c);
    expect({ code: r.code, tried: tried(r) }).toEqual({ code: 0, tried: [c.realKey] });
  });

  it('more than 20 key files: 20 are tried, then one line pointing to --key; --key ID opens, and that key is tried first from then on', async () => {
    const c = await freshCase();
    for (let i = 0; i < 25; i++) await plant(c.store, `00000000000000${String(i).padStart(2, '0')}`, AS_CHEAP);
    expectOneErrorLine(
      await sinki(['snapshots'], c),
      12,
      /^sinki: wrong password for the 20 key files tried; keys\/ holds 26 and sinki tries at most 20: name yours with --key ID \(its file name in keys\/\)$/,
    );
    const verbose = await sinki(['-v', 'snapshots'], c);
    expect({ code: verbose.code, tried: tried(verbose).length }).toEqual({ code: 12, tried: 20 });

    const picked = await sinki(['--key', c.realKey, '-v', 'snapshots'], c);
    expect({ code: picked.code, tried: tried(picked) }).toEqual({ code: 0, tried: [c.realKey] });
    const after = await sinki(['-v', 'snapshots'], c);
    expect({ code: after.code, tried: tried(after) }).toEqual({ code: 0, tried: [c.realKey] });

    expectOneErrorLine(await sinki(['--key', '0000000000000003', 'snapshots'], c), 12, /^sinki: wrong password for key 0000000000000003$/);
    expectOneErrorLine(await sinki(['--key', 'ffffffffffffffff', 'snapshots'], c), 14, /no key file keys\/ffffffffffffffff\.json/);
    expectOneErrorLine(await sinki(['--key', '../sinki', 'snapshots'], c), 2, /not a key id/);
  });
});

describe.concurrent('floors for new keys', () => {
  it('key add below the floors is refused (2) unless --insecure-kdf, which says so in a warning line', async () => {
    const c = await freshCase();
    const keysBefore = await fs.readdir(join(c.store, 'keys'));
    const env = { SINKI_NEW_PASSWORD: 'another password' };
    expectOneErrorLine(
      await sinki(['key', 'add', '--kdf', 'pbkdf2', '--kdf-iterations', '1000'], { ...c, env }),
      2,
      /--kdf-iterations must be an integer from 600000 to 10000000 for pbkdf2 \(lower only with --insecure-kdf\)/,
    );
    expectOneErrorLine(await sinki(['key', 'add', '--kdf', 'pbkdf2', '--kdf-iterations', '100000'], { ...c, env }), 2, /from 600000/);
    expectOneErrorLine(
      await sinki(['key', 'add', '--kdf', 'scrypt', '--kdf-iterations', '16384'], { ...c, env }),
      2,
      /a power of two from 32768 to 262144 \(lower only with --insecure-kdf\)/,
    );
    expectOneErrorLine(await sinki(['key', 'add', '--kdf-iterations', '1024'], { ...c, env }), 2, /for scrypt/);
    expect(await fs.readdir(join(c.store, 'keys'))).toEqual(keysBefore);

    const weak = await sinki(['key', 'add', ...FAST_KDF], { ...c, env });
    expect({ code: weak.code, stderr: stderrLines(weak) }).toEqual({
      code: 0,
      stderr: [expect.stringMatching(/^sinki: warning: --insecure-kdf: key [0-9a-f]{16} uses PBKDF2-SHA256, 1000 iterations, below the floor for new keys/)],
    });
  });

  it('a new key is scrypt (r=8, N at least 2^15) by default; PBKDF2 calibrated is at least 600 000 iterations', async () => {
    const dir = join(work, `case-${n++}`);
    const cache = join(dir, 'cache');
    const kdfOf = async (store: string): Promise<Record<string, unknown>> => {
      const [name] = await fs.readdir(join(store, 'keys'));
      return (JSON.parse(await fs.readFile(join(store, 'keys', name!), 'utf8')) as { kdf: Record<string, unknown> }).kdf;
    };
    const byDefault = join(dir, 'default');
    const made = await sinki(['init', '--kdf-ms', '1'], { store: byDefault, cache });
    expect({ code: made.code, stderr: made.stderr }).toEqual({ code: 0, stderr: '' });
    expect(made.stdout).toContain('key scrypt N=32768 r=8 p=1, 32 MiB');
    expect(await kdfOf(byDefault)).toMatchObject({ name: 'scrypt', N: 32768, r: 8, p: 1 });
    expect((await sinki(['snapshots'], { store: byDefault, cache })).code).toBe(0);

    const pbkdf2 = join(dir, 'pbkdf2');
    expect((await sinki(['init', '--kdf', 'pbkdf2', '--kdf-ms', '1'], { store: pbkdf2, cache })).code).toBe(0);
    expect(await kdfOf(pbkdf2)).toMatchObject({ name: 'pbkdf2', iterations: 600_000 });
  });
});
