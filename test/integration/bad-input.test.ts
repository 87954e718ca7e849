import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, expectOneErrorLine, FAST_KDF, initStore, run, sinki, sinkiOk, type RunResult } from '../helpers/cli.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';

/** The self-checksum sinki.json and key files carry (sorted-key JSON, SHA-256), so a test can forge a consistent edit. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}
function withFreshChecksum(record: Record<string, unknown>): Record<string, unknown> {
  const { checksum: _old, ...body } = record;
  return { ...body, checksum: createHash('sha256').update(canonicalJson(body)).digest('hex') };
}

/** Changes one character of a base64 string (keeping it valid base64). */
function flipBase64Char(s: string, at: number): string {
  const c = s[at]!;
  return s.slice(0, at) + (c === 'A' ? 'B' : 'A') + s.slice(at + 1);
}

describe('bad input: one clear line and a distinct exit code', () => {
  let work: string;
  let pristine: string;
  let copies = 0;

  /** A private copy of the store with one snapshot, to damage. */
  const copyStore = async (): Promise<string> => {
    const dest = join(work, `copy-${copies++}`);
    // Without lock files: another test's command may hold (and drop) one on the pristine store meanwhile.
    await fs.cp(pristine, dest, { recursive: true, filter: (src) => basename(dirname(src)) !== 'locks' });
    return dest;
  };
  const keyFileOf = async (store: string): Promise<string> => {
    const [name] = await fs.readdir(join(store, 'keys'));
    return join(store, 'keys', name!);
  };
  const editJson = async (file: string, edit: (v: Record<string, unknown>) => Record<string, unknown>): Promise<void> => {
    await fs.writeFile(file, JSON.stringify(edit(JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>), null, 2));
  };
  const ls = (store: string, extra: Partial<Parameters<typeof sinki>[1]> = {}): Promise<RunResult> => sinki(['ls', 'latest'], { store, ...extra });

  beforeAll(async () => {
    work = await tempDir('bad-input');
    pristine = join(work, 'store');
    const src = join(work, 'src');
    await fs.mkdir(src);
    await fs.writeFile(join(src, 'file.txt'), 'hello\n');
    await initStore(pristine);
    await sinkiOk(['backup', src], { store: pristine });
  });

  afterAll(removeTempDirs);

  it('help into a pipe whose reader is gone exits 0 without a stack; help into a full disk is one line, exit 16', async () => {
    // `true` exits at once, long before node has started: the help text meets a closed pipe.
    const gone = await run('bash', ['-c', `"${process.execPath}" "${CLI}" --help | true; echo "status=\${PIPESTATUS[0]}" >&2`]);
    expect(gone.stderr).toBe('status=0\n');
    expectOneErrorLine(await run('bash', ['-c', `exec "${process.execPath}" "${CLI}" backup --help >/dev/full`]), 16, /no space left/);
  });

  it('the pristine store opens (so every failure below is caused by its damage)', async () => {
    expect((await ls(pristine)).stdout).toBe('/src\n/src/file.txt\n');
  });

  describe.concurrent('password and store location', () => {
    it('wrong password → 12', async () => {
      expectOneErrorLine(await ls(pristine, { password: 'not the password' }), 12, /wrong password/);
    });

    it('-s pointing to a folder that is not a store → 10', async () => {
      expectOneErrorLine(await ls(join(work, 'src')), 10, /is not a sinki store/);
    });

    it('-s pointing to a path that does not exist → 10', async () => {
      expectOneErrorLine(await ls(join(work, 'no', 'such', 'path')), 10, /is not a sinki store/);
    });

    it('-s pointing to a regular file → 10', async () => {
      expectOneErrorLine(await ls(join(work, 'src', 'file.txt')), 10, /is not a sinki store/);
    });

    it('no password and stdin not a terminal → 2', async () => {
      expectOneErrorLine(await ls(pristine, { password: null }), 2, /no password given/);
    });

    it('an empty password → 2', async () => {
      expectOneErrorLine(await ls(pristine, { password: '' }), 2, /password is empty/);
    });

    it('--password-file that does not exist → 2; one that holds the password works', async () => {
      expectOneErrorLine(await sinki(['--password-file', join(work, 'nope'), 'ls', 'latest'], { store: pristine, password: null }), 2, /--password-file/);
      const pwFile = join(work, 'pw');
      await fs.writeFile(pwFile, 'correct horse battery staple\n');
      expect((await sinki(['--password-file', pwFile, 'ls', 'latest'], { store: pristine, password: null })).code).toBe(0);
    });

    it('--password-command: its output is the password; a failing command → 2', async () => {
      const ok = await sinki(['--password-command', "printf '%s\\n' 'correct horse battery staple'", 'ls', 'latest'], { store: pristine, password: null });
      expect(ok.stdout).toBe('/src\n/src/file.txt\n');
      expectOneErrorLine(await sinki(['--password-command', 'exit 7', 'ls', 'latest'], { store: pristine, password: null }), 2, /--password-command failed/);
      expectOneErrorLine(await sinki(['--password-command', 'echo wrong', 'ls', 'latest'], { store: pristine, password: null }), 12, /wrong password/);
    });

    it('no store given at all → 2', async () => {
      expectOneErrorLine(await sinki(['ls', 'latest'], { store: null }), 2, /no store given/);
    });
  });

  describe.concurrent('damaged key file and sinki.json', () => {
    it('truncated key file → 13, named as damaged (not "wrong password")', async () => {
      const store = await copyStore();
      const key = await keyFileOf(store);
      await fs.truncate(key, 100);
      expectOneErrorLine(await ls(store), 13, /key file keys\/[0-9a-f]+\.json is damaged/);
    });

    it('one character changed in the salt → 13', async () => {
      const store = await copyStore();
      const key = await keyFileOf(store);
      await editJson(key, (v) => ({ ...v, kdf: { ...(v.kdf as object), salt: flipBase64Char((v.kdf as { salt: string }).salt, 5) } }));
      expectOneErrorLine(await ls(store), 13, /key file .* is damaged/);
    });

    it('one character changed in the sealed keys → 13', async () => {
      const store = await copyStore();
      const key = await keyFileOf(store);
      await editJson(key, (v) => ({ ...v, sealed: flipBase64Char(v.sealed as string, 20) }));
      expectOneErrorLine(await ls(store), 13, /key file .* is damaged/);
    });

    it('sealed keys changed and the checksum forged to match → the key no longer opens → 12', async () => {
      const store = await copyStore();
      const key = await keyFileOf(store);
      await editJson(key, (v) => withFreshChecksum({ ...v, sealed: flipBase64Char(v.sealed as string, 20) }));
      expectOneErrorLine(await ls(store), 12, /wrong password/);
    });

    it('truncated sinki.json → 13', async () => {
      const store = await copyStore();
      await fs.truncate(join(store, 'sinki.json'), 40);
      expectOneErrorLine(await ls(store), 13, /sinki\.json is damaged/);
    });

    it('sinki.json with packSize edited → 13', async () => {
      const store = await copyStore();
      await editJson(join(store, 'sinki.json'), (v) => ({ ...v, packSize: 1024 * 1024 }));
      expectOneErrorLine(await ls(store), 13, /sinki\.json is damaged/);
    });

    it('sinki.json with packSize edited and the checksum forged → the MAC catches it → 13', async () => {
      const store = await copyStore();
      await editJson(join(store, 'sinki.json'), (v) => withFreshChecksum({ ...v, packSize: 1024 * 1024 }));
      expectOneErrorLine(await ls(store), 13, /sinki\.json was modified/);
    });

    it('sinki.json from a newer format → 1 with an upgrade hint', async () => {
      const store = await copyStore();
      await editJson(join(store, 'sinki.json'), (v) => ({ ...v, format: 99 }));
      expectOneErrorLine(await ls(store), 1, /newer than this sinki understands/);
    });

    it('no key files at all → 13', async () => {
      const store = await copyStore();
      await fs.rm(await keyFileOf(store));
      expectOneErrorLine(await ls(store), 13, /no key files/);
    });
  });

  describe.concurrent('init, snapshots and paths', () => {
    it('init on a non-empty folder → 15, and nothing is written there', async () => {
      const dir = join(work, 'non-empty');
      await fs.mkdir(dir);
      await fs.writeFile(join(dir, 'precious.txt'), 'x');
      expectOneErrorLine(await sinki(['init', ...FAST_KDF], { store: dir }), 15, /not empty/);
      expect(await fs.readdir(dir)).toEqual(['precious.txt']);
    });

    it('init on an existing store → 15', async () => {
      expectOneErrorLine(await sinki(['init', ...FAST_KDF], { store: pristine }), 15, /already exists/);
    });

    it('ls of a snapshot that does not exist → 14', async () => {
      expectOneErrorLine(await sinki(['ls', 'abcdef0123'], { store: pristine }), 14, /no snapshot matches "abcdef0123"/);
    });

    it('ls latest of a store without snapshots → 14', async () => {
      const empty = join(work, 'empty-store');
      await initStore(empty);
      expectOneErrorLine(await sinki(['ls', 'latest'], { store: empty }), 14, /no snapshots/);
    });

    it('ls / cat / restore --include of a path not in the snapshot → 14', async () => {
      expectOneErrorLine(await sinki(['ls', 'latest', 'src/nope'], { store: pristine }), 14, /src\/nope: no such file/);
      expectOneErrorLine(await sinki(['cat', 'latest', 'src/nope'], { store: pristine }), 14, /src\/nope: no such file/);
      expectOneErrorLine(await sinki(['restore', 'latest', join(work, 'r-nope'), '--include', 'src/nope'], { store: pristine }), 14, /src\/nope: no such file/);
    });

    it('a restore target that is a file → 2, and the file is untouched', async () => {
      const file = join(work, 'src', 'file.txt');
      expectOneErrorLine(await sinki(['restore', 'latest', file], { store: pristine }), 2, /restore target .*file\.txt is not a folder/);
      expectOneErrorLine(await sinki(['restore', 'latest', join(file, 'below')], { store: pristine }), 2, /is not a folder/);
      expect(await fs.readFile(file, 'utf8')).toBe('hello\n');
    });

    it('a snapshot reference that is not an id → 2', async () => {
      expectOneErrorLine(await sinki(['ls', 'not-hex!'], { store: pristine }), 2, /is not a snapshot id/);
    });

    it('cat of a folder → 2', async () => {
      expectOneErrorLine(await sinki(['cat', 'latest', 'src'], { store: pristine }), 2, /is not a file/);
    });

    it('bad option values → 2', async () => {
      const fresh = join(work, 'never-created');
      expectOneErrorLine(await sinki(['init', '--cipher', 'rot13', ...FAST_KDF], { store: fresh }), 2, /--cipher must be one of/);
      expectOneErrorLine(await sinki(['init', '--kdf', 'pbkdf2', '--kdf-iterations', '10'], { store: fresh }), 2, /--kdf-iterations must be/);
      expectOneErrorLine(await sinki(['init', '--kdf', 'scrypt', '--kdf-iterations', '1000'], { store: fresh }), 2, /power of two/);
      expectOneErrorLine(await sinki(['init', '--pack-size', 'huge', ...FAST_KDF], { store: fresh }), 2, /--pack-size/);
      expectOneErrorLine(await sinki(['init', '--pack-size', '1K', ...FAST_KDF], { store: fresh }), 2, /--pack-size must be between/);
      await expect(fs.access(fresh)).rejects.toThrow(); // nothing was created
    });
  });

  describe.concurrent('usage errors from the command line parser → 2', () => {
    const cases: Array<[string, string[], RegExp]> = [
      ['unknown option', ['backup', '--no-such-option', '.'], /unknown option '--no-such-option'/],
      ['unknown command', ['frobnicate'], /unknown command 'frobnicate'/],
      ['missing argument', ['backup'], /nothing to back up: give one or more paths, or --from/],
      ['missing arguments of restore', ['restore', 'latest'], /missing required argument 'target'/],
      ['option without its value', ['init', '--cipher'], /option '--cipher <name>' argument missing/],
    ];
    for (const [what, args, message] of cases) {
      it(what, async () => {
        const r = await sinki(args, { store: pristine });
        expect(r.code).toBe(2);
        const [first, ...rest] = r.stderr.trimEnd().split('\n');
        expect(first).toMatch(/^sinki: /);
        expect(first).toMatch(message);
        expect(rest).toEqual([]);
      });
    }

    it('an unknown command is one line, exit 2', async () => {
      expectOneErrorLine(await sinki(['frobnicate'], { store: pristine }), 2);
    });
  });
});
