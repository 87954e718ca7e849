/*
 * A restore that is interrupted and run again resumes: files an earlier run finished (same size and
 * modification time) are kept and counted as skipped, partial files it left are removed, and the
 * re-run exits 0 with the target complete. An existing file that differs is still refused without
 * --overwrite; --verify checks the content of files that look finished.
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, PASSWORD, initStore, jsonLine, sinki, sinkiOk } from '../helpers/cli.js';
import { pseudoRandomBytes, sha256File, walk } from '../helpers/files.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';

const MiB = 1024 * 1024;
let store: string;
let src: string;

/** Every entry below root: type, size, content hash, mode, and mtime in µs (restore sets it through a double: ±2 µs). */
async function facts(root: string): Promise<Array<Record<string, unknown>>> {
  const out = [];
  for (const e of await walk(root)) {
    const st = await fs.lstat(e.abs, { bigint: true });
    out.push({
      rel: e.rel,
      type: e.stat.isFile() ? 'file' : e.stat.isDirectory() ? 'dir' : 'link',
      size: e.stat.isFile() ? e.stat.size : undefined,
      sha256: e.stat.isFile() ? await sha256File(e.abs) : undefined,
      target: e.stat.isSymbolicLink() ? await fs.readlink(e.abs) : undefined,
      mode: e.stat.isSymbolicLink() ? undefined : e.stat.mode & 0o7777,
      mtimeNs: e.stat.isSymbolicLink() ? undefined : st.mtimeNs,
    });
  }
  return out;
}

/** The restored tree equals the source: the same entries and facts, times within 2 µs. */
async function expectSameTree(restored: string, source: string): Promise<void> {
  const [a, b] = [await facts(restored), await facts(source)];
  const strip = (l: Array<Record<string, unknown>>) => l.map(({ mtimeNs: _, ...rest }) => rest);
  expect(strip(a)).toEqual(strip(b));
  const off = a.map((e, i) => (e.mtimeNs === undefined ? 0n : (e.mtimeNs as bigint) - (b[i]!.mtimeNs as bigint))).filter((d) => d > 2000n || d < -2000n);
  expect(off).toEqual([]);
}

const partials = async (root: string): Promise<string[]> => (await walk(root)).filter((e) => e.rel.endsWith('.sinki-partial')).map((e) => e.rel);

beforeAll(async () => {
  const dir = await tempDir('restore-resume');
  store = join(dir, 'store');
  src = join(dir, 'src');
  await fs.mkdir(join(src, 'docs', 'deep'), { recursive: true });
  for (let i = 0; i < 200; i++) await fs.writeFile(join(src, 'docs', `note-${i}.txt`), `note ${i}\n`.repeat(50 + i));
  await fs.writeFile(join(src, 'docs', 'deep', 'mid.bin'), pseudoRandomBytes('mid', 3 * MiB));
  await fs.writeFile(join(src, 'large.bin'), pseudoRandomBytes('large', 96 * MiB));
  await fs.symlink('docs/note-1.txt', join(src, 'link'));
  await fs.chmod(join(src, 'docs'), 0o750);
  await initStore(store);
  await sinkiOk(['backup', src], { store });
}, 120_000);

afterAll(removeTempDirs);

describe('restore run again', () => {
  it('resumes after a SIGKILL mid-restore: partial files removed, finished files kept, exit 0, the tree exact', async () => {
    const target = await tempDir('resume-kill');
    // Killed while the large file is being written (its partial file has bytes in it).
    const child = spawn(process.execPath, [CLI, '-s', store, 'restore', 'latest', target], {
      env: { ...process.env, SINKI_PASSWORD: PASSWORD, SINKI_STORE: undefined },
      stdio: 'ignore',
    });
    const exited = new Promise((r) => child.once('exit', r));
    for (let killed = false; !killed && child.exitCode === null; ) {
      for (const p of await partials(target).catch(() => [])) {
        const size = (await fs.stat(join(target, p)).catch(() => null))?.size ?? 0;
        if (size > 8 * MiB) {
          child.kill('SIGKILL');
          killed = true;
        }
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    await exited;
    expect(child.signalCode).toBe('SIGKILL');
    const left = await partials(target);
    expect(left.length).toBeGreaterThan(0);

    const again = await sinki(['restore', 'latest', target, '--json'], { store });
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    const summary = jsonLine<{ files: number; skipped: number; failed: number }>(again.stdout, 'summary');
    expect(summary.failed).toBe(0);
    // Some files were finished by the killed run and kept now, the large one was written anew.
    expect(summary.skipped).toBeGreaterThan(0);
    expect(summary.files).toBeGreaterThan(0);
    expect(summary.files + summary.skipped).toBe(202);
    expect(await partials(target)).toEqual([]);
    await expectSameTree(join(target, 'src'), src);

    // A third run restores nothing and keeps everything.
    const third = jsonLine<{ files: number; skipped: number }>((await sinkiOk(['restore', 'latest', target, '--json'], { store })).stdout, 'summary');
    expect(third).toMatchObject({ files: 0, skipped: 202 });
  });

  it('refuses a file that differs (exit 3) unless --overwrite, and --verify catches one that only looks finished', async () => {
    const target = await tempDir('resume-differs');
    await sinkiOk(['restore', 'latest', target], { store });
    const note = join(target, 'src', 'docs', 'note-7.txt');
    const mid = join(target, 'src', 'docs', 'deep', 'mid.bin');
    // Seconds as a double: within a microsecond of the restored time (a Date would cut it to the millisecond).
    const mtimeOf = async (p: string): Promise<number> => Number((await fs.stat(p, { bigint: true })).mtimeNs) / 1e9;
    const noteTime = await mtimeOf(note);

    // Changed and newer: not the snapshot's file.
    await fs.appendFile(note, 'edited\n');
    const refused = await sinki(['restore', 'latest', target], { store });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/note-7\.txt: exists and differs from the snapshot \(use --overwrite/);

    // Same size and time, other bytes (bit rot, or an edit that kept the time): trusted by default,
    // caught by --verify, both for a file with a recorded SHA-256 and for a multi-chunk one.
    await fs.writeFile(note, (await fs.readFile(join(src, 'docs', 'note-7.txt'))).fill(0x78, 0, 4));
    await fs.utimes(note, noteTime, noteTime);
    const midBytes = await fs.readFile(mid);
    const midTime = await mtimeOf(mid);
    midBytes[2 * MiB] = midBytes[2 * MiB]! ^ 1;
    await fs.writeFile(mid, midBytes);
    await fs.utimes(mid, midTime, midTime);
    const trusted = await sinki(['restore', 'latest', target], { store });
    expect(trusted.stderr).toBe('');
    expect(trusted.code).toBe(0);
    const verified = await sinki(['restore', 'latest', target, '--verify'], { store });
    expect(verified.code).toBe(3);
    expect(verified.stderr).toMatch(/note-7\.txt: exists and differs/);
    expect(verified.stderr).toMatch(/mid\.bin: exists and differs/);

    const fixed = await sinki(['restore', 'latest', target, '--verify', '--overwrite', '--json'], { store });
    expect(fixed.code).toBe(0);
    expect(jsonLine<{ files: number; skipped: number }>(fixed.stdout, 'summary')).toMatchObject({ files: 2, skipped: 200 });
    await expectSameTree(join(target, 'src'), src);
  });
});
