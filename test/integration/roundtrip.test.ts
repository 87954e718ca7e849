import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, initStore, jsonLine, lsEntries, PASSWORD, run, sinki, sinkiOk } from '../helpers/cli.js';
import { pseudoRandomBytes, setMtime, sha256, treeFacts, walk } from '../helpers/files.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';

const MiB = 1024 * 1024;
const BASE_TIME = Date.parse('2001-02-03T04:05:06Z');

/** 11 MiB in 1 MiB blocks: incompressible, zeros, and repetitive text, so several chunks of each kind. */
function mixedData(): Buffer {
  const text = Buffer.from('All work and no play makes Jack a dull boy. 0123456789\n'.repeat(20_000)).subarray(0, MiB);
  const blocks: Buffer[] = [];
  for (let i = 0; i < 11; i++) blocks.push(i % 3 === 0 ? pseudoRandomBytes(`mixed-${i}`, MiB) : i % 3 === 1 ? Buffer.alloc(MiB) : text);
  return Buffer.concat(blocks);
}

const ODD_NAMES = [
  'name with spaces.txt',
  `quote'single"double.txt`,
  'new\nline.txt',
  'back\\slash.txt',
  'ünïcødé 日本語 🙂.txt',
  '-leading-dash.txt',
  '  two leading spaces',
];

async function makeSourceTree(src: string): Promise<void> {
  await fs.mkdir(join(src, 'nested', 'deeper'), { recursive: true });
  await fs.mkdir(join(src, 'empty-dir'));
  await fs.writeFile(join(src, 'big-mixed.dat'), mixedData());
  await fs.writeFile(join(src, 'empty.txt'), '');
  await fs.writeFile(join(src, 'private.txt'), 'only for me\n');
  await fs.writeFile(join(src, 'script.sh'), '#!/bin/sh\necho hi\n');
  await fs.writeFile(join(src, 'normal.txt'), 'plain text\n'.repeat(50));
  await fs.writeFile(join(src, 'owned.txt'), 'owned by someone else\n');
  await fs.writeFile(join(src, 'nested', 'deeper', 'file.txt'), 'deep content\n');
  for (const [i, name] of ODD_NAMES.entries()) await fs.writeFile(join(src, name), `odd name ${i}: ${JSON.stringify(name)}\n`);
  await fs.symlink('deeper/file.txt', join(src, 'nested', 'link-to-file'));
  await fs.symlink('does/not/exist', join(src, 'dangling'));
  await fs.symlink('/etc/hostname', join(src, 'absolute-link'));
  await fs.symlink('nested', join(src, 'link-to-dir'));
  await fs.chmod(join(src, 'private.txt'), 0o600);
  await fs.chmod(join(src, 'script.sh'), 0o755);
  await fs.chmod(join(src, 'normal.txt'), 0o644);
  await fs.chmod(join(src, 'empty-dir'), 0o750);
  await fs.chmod(join(src, 'nested', 'deeper'), 0o700);
  if (process.getuid?.() === 0) await fs.lchown(join(src, 'owned.txt'), 1234, 5678);
  // Distinct times everywhere; directories last and deepest first, as writing into them moves their mtime.
  const entries = await walk(src);
  for (const [i, e] of entries.entries()) if (!e.stat.isDirectory()) await setMtime(e.abs, new Date(BASE_TIME + i * 1000 + 250));
  const dirs = entries.filter((e) => e.stat.isDirectory()).reverse();
  for (const [i, e] of dirs.entries()) await setMtime(e.abs, new Date(BASE_TIME + 100_000 + i * 1000));
  await setMtime(src, new Date(BASE_TIME + 200_000));
}

describe('round trip: backup → restore gives back the same tree', () => {
  let work: string;
  let store: string;
  let src: string;
  let target: string;

  beforeAll(async () => {
    work = await tempDir('roundtrip');
    store = join(work, 'store');
    src = join(work, 'src');
    target = join(work, 'restored');
    await makeSourceTree(src);
    await initStore(store);
    const b = await sinkiOk(['backup', '--json', src], { store });
    expect(jsonLine(b.stdout, 'summary')).toMatchObject({ warnings: 0, parent: null });
    await sinkiOk(['restore', 'latest', target], { store });
  }, 90_000);

  afterAll(removeTempDirs);

  it('diff -r finds no difference', async () => {
    const d = await run('diff', ['-r', '--no-dereference', src, join(target, 'src')]);
    expect(d.stderr).toBe('');
    expect(d.stdout).toBe('');
    expect(d.code).toBe(0);
  });

  it('keeps types, modes, owners, mtimes (to the second), sizes, contents and symlink targets', async () => {
    const before = await treeFacts(src);
    const after = await treeFacts(join(target, 'src'));
    expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
    expect(after).toEqual(before);
    // the generator did what it meant to, so the comparison above covered these cases
    expect(before['big-mixed.dat']!.size).toBe(11 * MiB);
    expect(before['private.txt']!.mode).toBe(0o600);
    expect(before['script.sh']!.mode).toBe(0o755);
    expect(before['empty-dir']!).toMatchObject({ type: 'dir', mode: 0o750 });
    expect(before.dangling!).toMatchObject({ type: 'symlink', target: 'does/not/exist' });
    if (process.getuid?.() === 0) expect(before['owned.txt']!).toMatchObject({ uid: 1234, gid: 5678 });
  });

  it('the manifest verifies the restore with sha256sum -c', async () => {
    const m = await sinkiOk(['manifest', 'latest'], { store });
    const check = await run('sha256sum', ['-c', '--strict', '-'], { cwd: target, input: m.stdout });
    expect(check.stderr).toBe('');
    expect(check.code).toBe(0);
    const files = (await walk(src)).filter((e) => e.stat.isFile());
    const ok = check.stdout.split('\n').filter((l) => l.endsWith(': OK'));
    expect(ok).toHaveLength(files.length);
    // and it really checks: a changed byte makes it fail
    await fs.appendFile(join(target, 'src', 'normal.txt'), 'x');
    try {
      expect((await run('sha256sum', ['-c', '--quiet', '-'], { cwd: target, input: m.stdout })).code).toBe(1);
    } finally {
      await fs.truncate(join(target, 'src', 'normal.txt'), (await fs.stat(join(src, 'normal.txt'))).size);
    }
  });

  it('cat prints a file byte for byte', async () => {
    const big = await sinkiOk(['cat', 'latest', 'src/big-mixed.dat'], { store });
    expect(big.stdoutBytes.length).toBe(11 * MiB);
    expect(sha256(big.stdoutBytes)).toBe(sha256(await fs.readFile(join(src, 'big-mixed.dat'))));
    const odd = await sinkiOk(['cat', 'latest', 'src/new\nline.txt'], { store });
    expect(odd.stdout).toBe(await fs.readFile(join(src, 'new\nline.txt'), 'utf8'));
    const empty = await sinkiOk(['cat', 'latest', 'src/empty.txt'], { store });
    expect(empty.stdoutBytes.length).toBe(0);
  });

  it('cat into a pipe whose reader goes away (`| head`) stops quietly: exit 0, no stack, no lock left', async () => {
    const child = spawn(process.execPath, [CLI, '-s', store, 'cat', 'latest', 'src/big-mixed.dat'], {
      env: { ...process.env, SINKI_PASSWORD: PASSWORD },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.stdout.once('data', () => child.stdout.destroy()); // like `head -c 10`: read a little, then close the pipe
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(await fs.readdir(join(store, 'locks'))).toEqual([]);
  });

  it('ls --json lists every path with its type', async () => {
    const ls = await sinkiOk(['ls', 'latest', '--json'], { store });
    const listed = lsEntries(ls.stdout);
    const expected = [
      { path: '/src', type: 'dir' },
      ...(await walk(src)).map((e) => ({ path: `/src/${e.rel}`, type: e.stat.isFile() ? 'file' : e.stat.isDirectory() ? 'dir' : 'symlink' })),
    ];
    expect(listed.map((e) => ({ path: e.path, type: e.type })).sort((a, b) => a.path.localeCompare(b.path))).toEqual(
      expected.sort((a, b) => a.path.localeCompare(b.path)),
    );
    expect(listed.find((e) => e.path === '/src/dangling')?.target).toBe('does/not/exist');
    expect(listed.find((e) => e.path === '/src/big-mixed.dat')?.size).toBe(11 * MiB);
  });

  it('--include restores just that path', async () => {
    const only = join(work, 'only-one');
    await sinkiOk(['restore', 'latest', only, '--include', 'src/nested/deeper/file.txt'], { store });
    expect((await walk(only)).map((e) => e.rel)).toEqual(['src', 'src/nested', 'src/nested/deeper', 'src/nested/deeper/file.txt']);
    expect(await fs.readFile(join(only, 'src/nested/deeper/file.txt'), 'utf8')).toBe('deep content\n');
    const odd = join(work, 'only-odd');
    await sinkiOk(['restore', 'latest', odd, '--include', `src/quote'single"double.txt`], { store });
    expect((await walk(odd)).map((e) => e.rel)).toEqual(['src', `src/quote'single"double.txt`]);
  });

  it('refuses to overwrite an existing file without --overwrite (exit 3), replaces it with --overwrite', async () => {
    const dest = join(work, 'overwrite');
    const file = join(dest, 'src', 'normal.txt');
    await fs.mkdir(join(dest, 'src'), { recursive: true });
    await fs.writeFile(file, 'local edit, keep me\n');
    const refused = await sinki(['restore', 'latest', dest, '--include', 'src/normal.txt'], { store });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/^sinki: cannot restore src\/normal\.txt: .*exists/m);
    expect(await fs.readFile(file, 'utf8')).toBe('local edit, keep me\n');
    expect((await walk(dest)).map((e) => e.rel)).toEqual(['src', 'src/normal.txt']); // no temp file left behind

    await sinkiOk(['restore', 'latest', dest, '--include', 'src/normal.txt', '--overwrite'], { store });
    expect(await fs.readFile(file, 'utf8')).toBe(await fs.readFile(join(src, 'normal.txt'), 'utf8'));
    expect((await fs.stat(file)).mode & 0o7777).toBe(0o644);
  });
});
