import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, FAST_KDF, initStore, jsonLine, lsEntries, PASSWORD, run, sinki, sinkiOk } from '../helpers/cli.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';

describe('what a backup leaves out', () => {
  let work: string;
  let store: string;
  let src: string;

  const listed = async (ref = 'latest'): Promise<string[]> =>
    lsEntries((await sinkiOk(['ls', ref, '--json'], { store })).stdout)
      .map((e) => e.path)
      .sort();

  beforeAll(async () => {
    work = await tempDir('exclude');
    store = join(work, 'store');
    src = join(work, 'src');
    for (const dir of ['sub/deeper', 'keep/sub', 'cache/x', 'logs']) await fs.mkdir(join(src, dir), { recursive: true });
    const files = [
      'a.txt',
      'b.tmp',
      'sub/x.txt',
      'sub/deeper/y.txt',
      'keep/sub/z.txt',
      'keep/c.tmp',
      'keep/d.txt',
      'cache/x/blob',
      'logs/app.log',
      'logs/readme.md',
      'tmp-not-a-glob.txt',
    ];
    for (const f of files) await fs.writeFile(join(src, f), `${f}\n`);
    await initStore(store);
  });

  afterAll(removeTempDirs);

  it('--exclude by name glob, by path glob below the source, and --exclude-file', async () => {
    const excludeFile = join(work, 'excludes');
    await fs.writeFile(excludeFile, '# comments and blank lines are ignored\n\ncache\n*.log\n');
    await sinkiOk(['backup', src, '--exclude', '*.tmp', '--exclude', 'sub/**', '--exclude-file', excludeFile], { store });
    expect(await listed()).toEqual(
      ['', '/a.txt', '/keep', '/keep/d.txt', '/keep/sub', '/keep/sub/z.txt', '/logs', '/logs/readme.md', '/sub', '/tmp-not-a-glob.txt'].map((p) => `/src${p}`),
    );
    const target = join(work, 'restored');
    await sinkiOk(['restore', 'latest', target], { store });
    expect(await fs.readFile(join(target, 'src', 'keep', 'sub', 'z.txt'), 'utf8')).toBe('keep/sub/z.txt\n');
    await expect(fs.access(join(target, 'src', 'b.tmp'))).rejects.toThrow();
  });

  it('an exclude file that cannot be read is a usage error', async () => {
    const r = await sinki(['backup', src, '--exclude-file', join(work, 'no-such-file')], { store });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^sinki: cannot read --exclude-file .*no-such-file\n$/);
  });

  it('a special file (FIFO) is skipped with a warning naming it, the rest is saved, and the exit code is 3', async () => {
    const withFifo = join(work, 'fifo-src');
    await fs.mkdir(withFifo);
    await fs.writeFile(join(withFifo, 'regular.txt'), 'still here\n');
    const mk = await run('mkfifo', [join(withFifo, 'a-pipe')]);
    expect(mk.code).toBe(0);

    const r = await sinki(['backup', withFifo], { store });
    expect(r.code).toBe(3);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toEqual([
      `sinki: warning: ${join(withFifo, 'a-pipe')}: skipped: special file (device, fifo or socket)`,
      expect.stringMatching(/^sinki: 1 entries could not be read/),
    ]);
    expect(r.stdout).toMatch(/^snapshot [0-9a-f]{12} saved/);
    expect(await listed()).toEqual(['/fifo-src', '/fifo-src/regular.txt']);

    const json = await sinki(['backup', '--json', withFifo], { store });
    expect(json.code).toBe(3);
    expect(jsonLine(json.stdout, 'warning')).toEqual({ type: 'warning', path: join(withFifo, 'a-pipe'), message: expect.stringMatching(/special file/) });
    expect(jsonLine(json.stdout, 'summary')).toMatchObject({ warnings: 1, files: 1 });
  });

  // Root reads everything whatever the mode, so this runs the CLI as nobody (setpriv) against a store nobody owns.
  it.skipIf(process.getuid?.() !== 0)('files and folders the user cannot read are skipped with a warning each, the rest is saved, exit 3', async () => {
    const NOBODY = 65534;
    const area = join(work, 'unprivileged');
    await fs.mkdir(area);
    await fs.chmod(work, 0o755);
    const userStore = join(area, 'store');
    const userSrc = join(area, 'src');
    await fs.mkdir(join(userSrc, 'locked-dir'), { recursive: true });
    await fs.writeFile(join(userSrc, 'readable.txt'), 'anyone may read this\n');
    await fs.writeFile(join(userSrc, 'secret.txt'), 'nobody may read this\n');
    await fs.writeFile(join(userSrc, 'locked-dir', 'inner.txt'), 'hidden\n');
    await fs.chmod(join(userSrc, 'secret.txt'), 0o000);
    await fs.chmod(join(userSrc, 'locked-dir'), 0o000);
    await fs.mkdir(userStore);
    await fs.chown(userStore, NOBODY, NOBODY);
    const asNobody = (args: string[]): ReturnType<typeof run> =>
      run('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, CLI, '-s', userStore, ...args], {
        env: { SINKI_PASSWORD: PASSWORD, SINKI_STORE: undefined },
      });

    expect((await asNobody(['init', ...FAST_KDF])).code).toBe(0);
    const r = await asNobody(['backup', userSrc]);
    expect(r.code).toBe(3);
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^sinki: warning: ${join(userSrc, 'locked-dir')}: cannot read directory: EACCES`)),
      expect.stringMatching(new RegExp(`^sinki: warning: ${join(userSrc, 'secret.txt')}: cannot read: EACCES`)),
      'sinki: 2 entries could not be read; the snapshot holds everything else',
    ]);
    const ls = await asNobody(['ls', 'latest', '--json']);
    expect(lsEntries(ls.stdout).map((e) => e.path)).toEqual(['/src', '/src/readable.txt']);
  });

  it('a source that does not exist is a usage error and saves nothing', async () => {
    const before = (await sinkiOk(['snapshots', '--json'], { store })).stdout;
    const r = await sinki(['backup', join(work, 'missing-source')], { store });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^sinki: source .*missing-source does not exist/);
    expect((await sinkiOk(['snapshots', '--json'], { store })).stdout).toBe(before);
  });
});
