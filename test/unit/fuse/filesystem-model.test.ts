import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { SinkiFilesystem } from '../../../src/fuse/filesystem.js';
import { FsError } from '../../../src/fuse/fuse-adapter.js';
import { closeInProcessStores, newInProcessFs, readFile, type InProcessFs } from '../../helpers/in-process-fs.js';
import { removeTempDirs } from '../../helpers/temp.js';

const CS = 4096;
const O_RDWR = 2;
const S_IFDIR = 0o040000;

/**
 * Where a command acts: mostly an entry that exists (of the kind it needs), else a name in an
 * existing folder, else any short path (which may not resolve). Renames, overwrites and moves
 * between folders then come often.
 */
interface Target {
  pick: number;
  name: string;
  path: string;
}
const target: fc.Arbitrary<Target> = fc.record({
  pick: fc.nat(),
  name: fc.constantFrom('a', 'b', 'c'),
  path: fc.array(fc.constantFrom('a', 'b', 'c'), { minLength: 1, maxLength: 3 }).map((p) => `/${p.join('/')}`),
});

type Cmd =
  | { op: 'mkdir'; at: Target }
  | { op: 'create'; at: Target; len: number; seed: number }
  | { op: 'open'; at: Target }
  | { op: 'write'; handle: number; pos: number; len: number; seed: number }
  | { op: 'release'; handle: number }
  | { op: 'truncate'; at: Target; size: number }
  | { op: 'unlink'; at: Target }
  | { op: 'rmdir'; at: Target }
  | { op: 'rename'; from: Target; to: Target }
  | { op: 'commit' }
  | { op: 'remount' };

const command: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('mkdir' as const), at: target }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('create' as const), at: target, len: fc.integer({ min: 0, max: 2 * CS }), seed: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('open' as const), at: target }) },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('write' as const),
      handle: fc.nat(),
      pos: fc.integer({ min: 0, max: 3 * CS }),
      len: fc.integer({ min: 1, max: CS + 10 }),
      seed: fc.nat(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('release' as const), handle: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate' as const), at: target, size: fc.integer({ min: 0, max: 3 * CS }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('unlink' as const), at: target }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('rmdir' as const), at: target }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('rename' as const), from: target, to: target }) },
  { weight: 2, arbitrary: fc.constant({ op: 'commit' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'remount' as const }) },
);

const bytes = (len: number, seed: number): Buffer => Buffer.alloc(len, `${seed}:`);

type Entry = { type: 'dir' } | { type: 'file'; data: Buffer };

/** The tree as a map from path to entry; the filesystem's errnos decide what happens, the model follows. */
class Model {
  entries = new Map<string, Entry>();
  /** Open handles by the path the kernel would pass for them now (renames move it). */
  handles: Array<{ fd: number; path: string }> = [];

  clone(): Map<string, Entry> {
    return new Map([...this.entries].map(([p, e]) => [p, e.type === 'file' ? { type: 'file', data: Buffer.from(e.data) } : e]));
  }

  /** An existing entry of `kind` (three times in four, when there is one), else `t.path`. */
  existing(t: Target, kind: Entry['type'] | 'any'): string {
    const found = [...this.entries]
      .filter(([, e]) => kind === 'any' || e.type === kind)
      .map(([p]) => p)
      .sort();
    return found.length > 0 && t.pick % 4 !== 0 ? found[t.pick % found.length]! : t.path;
  }

  /** A name in an existing folder (the root included), else `t.path`. */
  fresh(t: Target): string {
    const dirs = ['', ...[...this.entries].filter(([, e]) => e.type === 'dir').map(([p]) => p)].sort();
    return t.pick % 5 !== 0 ? `${dirs[t.pick % dirs.length]}/${t.name}` : t.path;
  }

  file(p: string): { type: 'file'; data: Buffer } {
    const e = this.entries.get(p);
    if (e?.type !== 'file') throw new Error(`model: ${p} is not a file`);
    return e;
  }

  /** Removes `p` and everything under it; handles of removed files go (the kernel would pass another path). */
  remove(p: string): Array<{ fd: number; path: string }> {
    for (const k of [...this.entries.keys()]) if (k === p || k.startsWith(`${p}/`)) this.entries.delete(k);
    const gone = this.handles.filter((h) => h.path === p);
    this.handles = this.handles.filter((h) => h.path !== p);
    return gone;
  }

  /** Whether `p` can be made: its parent is a folder (or the root) and the name is free. */
  canMake(p: string): boolean {
    const parent = p.slice(0, p.lastIndexOf('/'));
    return !this.entries.has(p) && (parent === '' || this.entries.get(parent)?.type === 'dir');
  }

  isFile(p: string): boolean {
    return this.entries.get(p)?.type === 'file';
  }

  isEmptyDir(p: string): boolean {
    return this.entries.get(p)?.type === 'dir' && ![...this.entries.keys()].some((k) => k.startsWith(`${p}/`));
  }

  rename(from: string, to: string): Array<{ fd: number; path: string }> {
    if (from === to) return [];
    const gone = this.remove(to);
    const moved = [...this.entries].filter(([k]) => k === from || k.startsWith(`${from}/`));
    for (const [k] of moved) this.entries.delete(k);
    for (const [k, e] of moved) this.entries.set(to + k.slice(from.length), e);
    for (const h of this.handles) if (h.path === from || h.path.startsWith(`${from}/`)) h.path = to + h.path.slice(from.length);
    return gone;
  }
}

function resize(data: Buffer, size: number): Buffer {
  return size <= data.length ? Buffer.from(data.subarray(0, size)) : Buffer.concat([data, Buffer.alloc(size - data.length)]);
}

/** Every entry under `/` (not /.snapshots): type, and a file's bytes. */
async function listing(fs: SinkiFilesystem): Promise<Map<string, Entry>> {
  const out = new Map<string, Entry>();
  const walk = async (dir: string): Promise<void> => {
    for (const e of await fs.readdir(dir)) {
      if (e.name === '.' || e.name === '..' || (dir === '/' && e.name === '.snapshots')) continue;
      const p = `${dir === '/' ? '' : dir}/${e.name}`;
      if (e.type === S_IFDIR) {
        out.set(p, { type: 'dir' });
        await walk(p);
      } else out.set(p, { type: 'file', data: await readFile(fs, p) });
    }
  };
  await walk('/');
  return out;
}

const show = (m: Map<string, Entry>): string[] =>
  [...m].map(([p, e]) => (e.type === 'dir' ? `${p}/` : `${p} ${e.data.length} ${e.data.toString('base64')}`)).sort();

/** Runs `fn`; true if it succeeded, false if it failed with an errno (anything else fails the test). */
async function ok(fn: () => Promise<unknown>): Promise<boolean> {
  try {
    await fn();
    return true;
  } catch (err) {
    if (err instanceof FsError) return false;
    throw err;
  }
}

/** ok(), where the model knows the outcome: an operation the model says must work does, and no other. */
async function as(want: boolean, fn: () => Promise<unknown>): Promise<boolean> {
  const got = await ok(fn);
  expect(got).toBe(want);
  return got;
}

/** Renames that succeeded, over all cases: their rules are many, so the model follows the filesystem, but some must work. */
let renamesDone = 0;

async function runCommands(cmds: readonly Cmd[]): Promise<void> {
  let h: InProcessFs = await newInProcessFs({ chunkSize: CS, writeBuffer: 4 * CS });
  const model = new Model();
  let committed = model.clone();
  const releaseAll = async (gone: Array<{ fd: number; path: string }>): Promise<void> => {
    for (const g of gone) await h.fs.release(g.path, g.fd);
  };
  for (const cmd of cmds) {
    const fs = h.fs;
    switch (cmd.op) {
      case 'mkdir': {
        const p = model.fresh(cmd.at);
        if (await as(model.canMake(p), () => fs.mkdir(p, 0o755))) model.entries.set(p, { type: 'dir' });
        break;
      }
      case 'create': {
        const p = model.fresh(cmd.at);
        const data = bytes(cmd.len, cmd.seed);
        let fd = 0;
        if (!(await as(model.canMake(p), async () => (fd = await fs.create(p, 0o644))))) break;
        if (data.length > 0) expect(await fs.write(p, fd, data, data.length, 0)).toBe(data.length);
        await fs.release(p, fd);
        model.entries.set(p, { type: 'file', data });
        break;
      }
      case 'open': {
        const p = model.existing(cmd.at, 'file');
        let fd = 0;
        if (await as(model.isFile(p), async () => (fd = await fs.open(p, O_RDWR)))) model.handles.push({ fd, path: p });
        break;
      }
      case 'write': {
        const handle = model.handles[cmd.handle % Math.max(1, model.handles.length)];
        if (!handle) break;
        const data = bytes(cmd.len, cmd.seed);
        expect(await fs.write(handle.path, handle.fd, data, data.length, cmd.pos)).toBe(data.length);
        const f = model.file(handle.path);
        if (cmd.pos + data.length > f.data.length) f.data = resize(f.data, cmd.pos + data.length);
        data.copy(f.data, cmd.pos);
        break;
      }
      case 'release': {
        const handle = model.handles[cmd.handle % Math.max(1, model.handles.length)];
        if (!handle) break;
        await fs.release(handle.path, handle.fd);
        model.handles = model.handles.filter((x) => x !== handle);
        break;
      }
      case 'truncate': {
        const p = model.existing(cmd.at, 'file');
        if (await as(model.isFile(p), () => fs.truncate(p, cmd.size))) model.file(p).data = resize(model.file(p).data, cmd.size);
        break;
      }
      case 'unlink': {
        const p = model.existing(cmd.at, 'file');
        if (await as(model.isFile(p), () => fs.unlink(p))) await releaseAll(model.remove(p));
        break;
      }
      case 'rmdir': {
        const p = model.existing(cmd.at, 'dir');
        if (await as(model.isEmptyDir(p), () => fs.rmdir(p))) model.remove(p);
        break;
      }
      case 'rename': {
        const from = model.existing(cmd.from, 'any');
        const to = cmd.to.pick % 3 === 0 ? model.existing(cmd.to, 'any') : model.fresh(cmd.to);
        if (await ok(() => fs.rename(from, to))) {
          renamesDone += 1;
          await releaseAll(model.rename(from, to));
        }
        break;
      }
      case 'commit':
        await h.commit();
        committed = model.clone();
        break;
      case 'remount':
        // As after a crash: what was committed, read through a store opened afresh.
        await releaseAll(model.handles);
        model.handles = [];
        h = await h.remount();
        model.entries = new Map([...committed].map(([p, e]) => [p, e.type === 'file' ? { type: 'file', data: Buffer.from(e.data) } : e]));
        expect(show(await listing(h.fs))).toEqual(show(model.entries));
        break;
    }
  }
  expect(show(await listing(h.fs))).toEqual(show(model.entries));
  await h.commit();
  expect(show(await listing((await h.remount()).fs))).toEqual(show(model.entries));
}

describe('the live tree against a model', () => {
  afterAll(async () => {
    await closeInProcessStores();
    await removeTempDirs();
  });

  it('any sequence of creates, writes through open handles, renames, removals, commits and remounts keeps the committed tree', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 60, size: 'max' }), async (cmds) => {
        try {
          await runCommands(cmds);
        } finally {
          await closeInProcessStores();
          await removeTempDirs();
        }
      }),
      // Each case makes a store: cap the time shrinking a failure may take (the case found so far is reported).
      { numRuns: 150, interruptAfterTimeLimit: 60_000 },
    );
    expect(renamesDone).toBeGreaterThan(0);
  });
});
