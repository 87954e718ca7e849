import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../../../scripts/gen-dataset.mjs', import.meta.url));
const SIZE = 8 * 1024 * 1024;

interface Entry {
  rel: string;
  type: 'file' | 'dir' | 'link';
  size: number;
  mode: number;
  mtimeMs: number;
  sha?: string;
  target?: string;
}

async function gen(dir: string, ...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, [SCRIPT, dir, ...args], { maxBuffer: 4 << 20 });
}

async function listing(root: string): Promise<Map<string, Entry>> {
  const out = new Map<string, Entry>();
  const walk = async (rel: string): Promise<void> => {
    const names = (await fs.readdir(path.join(root, rel))).sort();
    for (const name of names) {
      const r = rel ? `${rel}/${name}` : name;
      const abs = path.join(root, r);
      const st = await fs.lstat(abs);
      const base = { rel: r, mode: st.mode & 0o7777, mtimeMs: st.mtimeMs };
      if (st.isSymbolicLink()) {
        out.set(r, { ...base, type: 'link', size: 0, mode: 0, target: await fs.readlink(abs) });
      } else if (st.isDirectory()) {
        out.set(r, { ...base, type: 'dir', size: 0 });
        await walk(r);
      } else {
        const data = await fs.readFile(abs);
        out.set(r, { ...base, type: 'file', size: st.size, sha: createHash('sha256').update(data).digest('hex') });
      }
    }
  };
  await walk('');
  return out;
}

function serialize(m: Map<string, Entry>): string[] {
  return [...m.values()].map((e) => `${e.type} ${JSON.stringify(e.rel)} ${e.size} ${e.mode.toString(8)} ${e.mtimeMs} ${e.sha ?? ''} ${e.target ?? ''}`).sort();
}

function files(m: Map<string, Entry>): Entry[] {
  return [...m.values()].filter((e) => e.type === 'file');
}

function deflateRatio(data: Buffer): number {
  return deflateSync(data, { level: 6 }).length / data.length;
}

describe('scripts/gen-dataset.mjs', () => {
  let tmp = '';
  let dirA = '';
  let dirB = '';
  let dirC = '';
  let outA = '';
  let listA = new Map<string, Entry>();
  let listB = new Map<string, Entry>();
  let listC = new Map<string, Entry>();

  beforeAll(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'sinki-gen-dataset-'));
    dirA = path.join(tmp, 'a');
    dirB = path.join(tmp, 'b');
    dirC = path.join(tmp, 'c');
    const [ra] = await Promise.all([
      gen(dirA, '--size', '8M', '--seed', '7'),
      gen(dirB, '--size', '8M', '--seed', '7'),
      gen(dirC, '--size', '8M', '--seed', '8'),
    ]);
    outA = ra.stdout;
    [listA, listB, listC] = await Promise.all([listing(dirA), listing(dirB), listing(dirC)]);
  });

  afterAll(async () => {
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  it('prints a one-line summary that matches the tree', () => {
    const lines = outA.trim().split('\n');
    expect(lines).toHaveLength(1);
    const m = /(\d+) files, (\d+) dirs, (\d+) symlinks, (\d+) bytes/.exec(lines[0] ?? '');
    expect(m).not.toBeNull();
    const fl = files(listA);
    expect(Number(m![1])).toBe(fl.length);
    expect(Number(m![2])).toBe([...listA.values()].filter((e) => e.type === 'dir').length);
    expect(Number(m![3])).toBe([...listA.values()].filter((e) => e.type === 'link').length);
    const total = fl.reduce((s, e) => s + e.size, 0);
    expect(Number(m![4])).toBe(total);
    expect(total).toBeGreaterThan(SIZE * 0.95);
    expect(total).toBeLessThan(SIZE * 1.05);
  });

  it('same seed produces an identical tree (paths, types, sizes, modes, mtimes, contents)', () => {
    expect(listA.size).toBeGreaterThan(100);
    expect(serialize(listA)).toEqual(serialize(listB));
  });

  it('different seed produces different content', () => {
    expect(serialize(listA)).not.toEqual(serialize(listC));
    const hashesA = new Set(
      files(listA)
        .filter((e) => e.size > 0)
        .map((e) => e.sha),
    );
    const nonEmptyC = files(listC).filter((e) => e.size > 0);
    const shared = nonEmptyC.filter((e) => hashesA.has(e.sha)).length;
    // only fixed boilerplate (LICENSE, .gitignore, ...) may coincide
    expect(shared / nonEmptyC.length).toBeLessThan(0.2);
  });

  it('contains symlinks (file, dir, dangling), empty files, empty dirs, unicode names and mode variety', async () => {
    const all = [...listA.values()];
    const links = all.filter((e) => e.type === 'link');
    expect(links.length).toBeGreaterThanOrEqual(3);
    let toFile = 0;
    let toDir = 0;
    let dangling = 0;
    for (const l of links) {
      expect(path.isAbsolute(l.target!)).toBe(false);
      try {
        const st = await fs.stat(path.join(dirA, l.rel));
        if (st.isDirectory()) toDir++;
        else toFile++;
      } catch {
        dangling++;
      }
    }
    expect(toFile).toBeGreaterThan(0);
    expect(toDir).toBeGreaterThan(0);
    expect(dangling).toBeGreaterThan(0);

    expect(files(listA).filter((e) => e.size === 0).length).toBeGreaterThan(0);
    const dirs = all.filter((e) => e.type === 'dir');
    const emptyDirs = dirs.filter((d) => !all.some((e) => e.rel.startsWith(`${d.rel}/`)));
    expect(emptyDirs.length).toBeGreaterThan(0);

    // Some name outside ASCII.
    expect(all.some((e) => [...e.rel].some((c) => c.charCodeAt(0) > 0x7f))).toBe(true);
    expect(all.some((e) => /[\u{1F300}-\u{1FAFF}]/u.test(e.rel))).toBe(true); // emoji
    expect(all.some((e) => /\u0301/.test(e.rel))).toBe(true); // combining accent
    expect(all.some((e) => / /.test(e.rel) && /["']/.test(e.rel))).toBe(true);

    const modes = new Set(files(listA).map((e) => e.mode));
    for (const m of [0o644, 0o755, 0o600]) expect(modes.has(m)).toBe(true);
    // many small files in nested directories
    const deepFiles = files(listA).filter((e) => e.rel.startsWith('deep/'));
    expect(deepFiles.length).toBeGreaterThan(50);
    expect(Math.max(...deepFiles.map((e) => e.rel.split('/').length))).toBeGreaterThanOrEqual(6);
  });

  it('has distinct compressibility classes', async () => {
    const fl = files(listC);
    const largest = (pred: (e: Entry) => boolean, n: number): Entry[] =>
      fl
        .filter(pred)
        .sort((a, b) => b.size - a.size || (a.rel < b.rel ? -1 : 1))
        .slice(0, n);
    const ratio = async (e: Entry): Promise<number> => deflateRatio(await fs.readFile(path.join(dirC, e.rel)));

    const text = largest((e) => e.rel.startsWith('src/') && /\.(ts|js|c|h|go|rs|java|py|md)$/.test(e.rel), 3);
    const docs = largest((e) => e.rel.startsWith('data/'), 2);
    const media = largest((e) => /\.(jpg|png|mp4|zip|gz)$/.test(e.rel) && !e.rel.startsWith('deep/'), 3);
    const bins = largest((e) => /^(bin|lib|tools)\//.test(e.rel), 3);
    for (const group of [text, docs, media, bins]) expect(group.length).toBeGreaterThanOrEqual(2);

    for (const e of [...text, ...docs]) expect(await ratio(e), e.rel).toBeLessThan(0.5);
    for (const e of media) expect(await ratio(e), e.rel).toBeGreaterThan(0.95);
    for (const e of bins) {
      const r = await ratio(e);
      expect(r, e.rel).toBeGreaterThan(0.2);
      expect(r, e.rel).toBeLessThan(0.9);
    }
  });

  it('refuses to generate into a non-empty directory (exit 2, one line)', async () => {
    const err = await gen(dirC, '--size', '8M').then(
      () => null,
      (e: { code?: number; stderr?: string }) => e,
    );
    expect(err).not.toBeNull();
    expect(err!.code).toBe(2);
    expect(err!.stderr!.trim().split('\n')).toHaveLength(1);
  });

  it('--mutate 5 changes roughly 5% of files, adds and deletes a few, deterministically', async () => {
    const before = listA;
    const [ra] = await Promise.all([gen(dirA, '--mutate', '5', '--seed', '7'), gen(dirB, '--mutate', '5', '--seed', '7')]);
    expect(ra.stdout.trim().split('\n')).toHaveLength(1);
    // at least one large file got bytes inserted at its start
    expect(Number(/(\d+) inserted-at-start/.exec(ra.stdout)?.[1])).toBeGreaterThanOrEqual(1);
    const [afterA, afterB] = await Promise.all([listing(dirA), listing(dirB)]);
    expect(serialize(afterA)).toEqual(serialize(afterB));

    const beforeFiles = files(before);
    let changed = 0;
    let contentChanged = 0;
    let deleted = 0;
    for (const e of beforeFiles) {
      const a = afterA.get(e.rel);
      if (!a) {
        deleted++;
        continue;
      }
      if (a.sha !== e.sha) contentChanged++;
      if (a.sha !== e.sha || a.mtimeMs !== e.mtimeMs || a.size !== e.size) changed++;
    }
    const added = files(afterA).filter((e) => !before.has(e.rel)).length;
    const share = changed / beforeFiles.length;
    expect(share).toBeGreaterThan(0.03);
    expect(share).toBeLessThan(0.08);
    expect(contentChanged).toBeGreaterThan(0);
    expect(deleted).toBeGreaterThan(0);
    expect(added).toBeGreaterThan(0);
    expect(deleted + added).toBeLessThan(beforeFiles.length * 0.03);
    // symlinks and directory structure are otherwise left alone
    const linksBefore = [...before.values()].filter((e) => e.type === 'link').map((e) => `${e.rel} ${e.target}`);
    const linksAfter = [...afterA.values()].filter((e) => e.type === 'link').map((e) => `${e.rel} ${e.target}`);
    expect(linksAfter).toEqual(linksBefore);
  });
});
