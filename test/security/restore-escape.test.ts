import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TreeNode } from '../../src/repo/tree.js';
import { expectOneErrorLine, PASSWORD, sinki, type RunResult } from '../helpers/cli.js';
import { CraftedStore } from '../helpers/crafted-store.js';
import { treeFacts, type EntryFacts } from '../helpers/files.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';

// A store's key holder is not trusted with the machine it is restored on: whatever its trees hold,
// and whatever links the target already holds, restore writes, chmods and chowns nothing outside
// its target. Each case restores into a fresh target inside a "world" folder that also holds a
// canary folder (outside/, mode 0751) and file (canary.txt, mode 0640); afterwards everything in the
// world but the target must be as it was: listing, bytes, modes, owners, times.

const CASE_TIMEOUT = 60_000;

/** Lines of stderr: each one "sinki: ...", no stack. */
function expectCleanErrors(r: RunResult, exitCode: number, pattern: RegExp): void {
  const lines = r.stderr.replace(/\n$/, '').split('\n');
  expect({ code: r.code, clean: lines.every((l) => /^sinki: \S/.test(l)) }, r.stderr).toEqual({ code: exitCode, clean: true });
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stderr).toMatch(pattern);
}

describe.each([2, 1])('restore from a hostile store, format %i: nothing outside the target is touched', (format) => {
  let work: string;
  let world: string;
  let outside: string;
  let cases = 0;

  beforeAll(async () => {
    work = await tempDir('security');
    world = join(work, 'world');
    outside = join(world, 'outside');
    await fs.mkdir(join(outside, 'inner'), { recursive: true });
    await fs.writeFile(join(outside, 'canary.txt'), 'canary\n');
    await fs.writeFile(join(outside, 'inner', 'deep.txt'), 'deep\n');
    await fs.chmod(join(outside, 'canary.txt'), 0o640);
    await fs.chmod(outside, 0o751);
  });
  afterAll(removeTempDirs);

  /** The world's facts, leaving out one target (which restore may change at will). */
  async function worldFacts(target: string): Promise<Record<string, EntryFacts>> {
    const name = target.slice(world.length + 1);
    return Object.fromEntries(Object.entries(await treeFacts(world)).filter(([rel]) => rel !== name && !rel.startsWith(`${name}/`)));
  }

  /**
   * A store holding one snapshot of `build`'s entries; a new empty target (made before the world's
   * facts are taken, as its making changes the world's folder); `act` runs against them, and the
   * world outside the target must not have changed.
   */
  async function hostileCase(
    build: (s: CraftedStore) => Promise<TreeNode[]>,
    act: (c: { store: string; snapshot: string; tree: string; target: string }) => Promise<void>,
    prepareTarget?: (target: string) => Promise<void>,
  ): Promise<void> {
    cases += 1;
    const store = join(work, `store-${cases}`);
    const target = join(world, `target-${cases}`);
    const crafted = await CraftedStore.create(store, PASSWORD, format);
    let snap: { id: string; tree: string };
    try {
      snap = await crafted.snapshot(await build(crafted));
    } finally {
      await crafted.close();
    }
    await fs.mkdir(target);
    await prepareTarget?.(target);
    const before = await worldFacts(target);
    expect(Object.keys(before)).toContain('outside/canary.txt');
    await act({ store, snapshot: snap.id, tree: snap.tree, target });
    expect(await worldFacts(target)).toEqual(before);
  }

  const restore = (store: string, snapshot: string, target: string, ...extra: string[]): Promise<RunResult> =>
    sinki(['restore', snapshot, target, ...extra], { store });

  it('a link to a folder outside and a folder of the same name (a file inside, mode 0777): restore exits 13, one line naming the tree; check exits 13 naming it', {
    timeout: CASE_TIMEOUT,
  }, async () => {
    await hostileCase(
      async (s) => [s.link('a', outside), await s.dir('a', [await s.file('planted.txt', 'through the link\n', 0o666)], 0o777)],
      async ({ store, snapshot, tree, target }) => {
        const r = await restore(store, snapshot, target);
        expectOneErrorLine(r, 13, new RegExp(`tree ${tree.slice(0, 16)}: duplicate entry name "a"`));
        expect(await fs.readdir(target)).toEqual([]);
        const check = await sinki(['check'], { store });
        expect(check.code, check.stderr).toBe(13);
        expect(check.stderr).toMatch(
          new RegExp(`^error: snapshot ${snapshot.slice(0, 12)}: folder / cannot be read \\(tree ${tree.slice(0, 16)}: duplicate entry name "a"\\)`, 'm'),
        );
      },
    );
  });

  it('the same pair one folder down: restore restores the rest and exits 13 naming the damaged tree; check exits 13 naming it', {
    timeout: CASE_TIMEOUT,
  }, async () => {
    let inner = '';
    await hostileCase(
      async (s) => {
        const d = await s.dir('d', [s.link('a', outside), await s.dir('a', [await s.file('planted.txt', 'through the link\n')], 0o777)]);
        inner = d.subtree!;
        return [d, await s.file('fine.txt', 'fine\n')];
      },
      async ({ store, snapshot, target }) => {
        const r = await restore(store, snapshot, target);
        expectCleanErrors(r, 13, new RegExp(`cannot restore d: tree ${inner.slice(0, 16)}: duplicate entry name "a"`));
        expect(await fs.readFile(join(target, 'fine.txt'), 'utf8')).toBe('fine\n');
        expect(await fs.readdir(join(target, 'd'))).toEqual([]);
        const check = await sinki(['check'], { store });
        expect(check.code, check.stderr).toBe(13);
        expect(check.stderr).toMatch(
          new RegExp(`^error: snapshot ${snapshot.slice(0, 12)}: folder /d cannot be read \\(tree ${inner.slice(0, 16)}: duplicate entry name "a"\\)`, 'm'),
        );
      },
    );
  });

  it('a folder before a link of the same name, and two files of one name: exit 13, one line', { timeout: CASE_TIMEOUT }, async () => {
    await hostileCase(
      async (s) => [await s.dir('a', [await s.file('planted.txt', 'x\n')], 0o777), s.link('a', outside)],
      async ({ store, snapshot, target }) => expectOneErrorLine(await restore(store, snapshot, target), 13, /duplicate entry name "a"/),
    );
    await hostileCase(
      async (s) => [await s.file('f', 'one\n'), await s.file('f', 'two\n')],
      async ({ store, snapshot, target }) => {
        expectOneErrorLine(await restore(store, snapshot, target), 13, /duplicate entry name "f"/);
        expect((await sinki(['check'], { store })).code).toBe(13);
      },
    );
  });

  it('names out of order: restore and check exit 13', { timeout: CASE_TIMEOUT }, async () => {
    await hostileCase(
      async (s) => [await s.file('b', 'b\n'), await s.file('a', 'a\n')],
      async ({ store, snapshot, target }) => {
        expectOneErrorLine(await restore(store, snapshot, target), 13, /entry names out of order \("a" after "b"\)/);
        const check = await sinki(['check'], { store });
        expect(check.code).toBe(13);
        expect(check.stderr).toMatch(/out of order/);
      },
    );
  });

  it('names "..", "../x", "." and "" (folders of mode 0777 with a file inside): exit 13, one line, nothing written next to the target', {
    timeout: CASE_TIMEOUT,
  }, async () => {
    for (const bad of ['..', '../escaped', '.', '']) {
      await hostileCase(
        async (s) => [await s.dir(bad, [await s.file('escaped.txt', 'escaped\n')], 0o777)],
        async ({ store, snapshot, target }) => {
          expectOneErrorLine(await restore(store, snapshot, target), 13, /invalid entry name/);
          expect((await sinki(['check'], { store })).code).toBe(13);
        },
      );
      await hostileCase(
        async (s) => [await s.file(bad, 'escaped\n', 0o777)],
        async ({ store, snapshot, target }) => expectOneErrorLine(await restore(store, snapshot, target), 13, /invalid entry name/),
      );
    }
  });

  it('a link pointing outside, beside folders and files: restored as the link it is, never followed', { timeout: CASE_TIMEOUT }, async () => {
    await hostileCase(
      async (s) => [s.link('a', outside), await s.dir('b', [s.link('c', join(outside, 'canary.txt')), await s.file('d', 'd\n', 0o600)], 0o700)],
      async ({ store, snapshot, target }) => {
        const r = await restore(store, snapshot, target);
        expect(r.code, r.stderr).toBe(0);
        const facts = await treeFacts(target);
        expect(facts.a).toMatchObject({ type: 'symlink', target: outside });
        expect(facts['b/c']).toMatchObject({ type: 'symlink', target: join(outside, 'canary.txt') });
        expect(facts.b).toMatchObject({ type: 'dir', mode: 0o700 });
        expect(facts['b/d']).toMatchObject({ type: 'file', mode: 0o600, size: 2 });
      },
    );
  });

  it('the target already holds a link to a folder outside where the snapshot has a folder: exit 3 and the link kept; --overwrite replaces the link with the folder', {
    timeout: CASE_TIMEOUT,
  }, async () => {
    const snapshotWithFolderX = async (s: CraftedStore): Promise<TreeNode[]> => [
      await s.dir('x', [await s.file('canary.txt', 'replaced\n', 0o666), await s.file('new.txt', 'new\n')], 0o777),
    ];
    const linkX = (target: string): Promise<void> => fs.symlink(outside, join(target, 'x'));
    await hostileCase(
      snapshotWithFolderX,
      async ({ store, snapshot, target }) => {
        expectCleanErrors(await restore(store, snapshot, target), 3, /cannot restore x: exists and is not a folder \(a link; use --overwrite/);
        expect(await fs.readlink(join(target, 'x'))).toBe(outside);
      },
      linkX,
    );
    await hostileCase(
      snapshotWithFolderX,
      async ({ store, snapshot, target }) => {
        const r = await restore(store, snapshot, target, '--include', 'x/new.txt');
        expectCleanErrors(r, 3, /cannot restore x\/new.txt: exists and is not a folder/);
        expect(await fs.readlink(join(target, 'x'))).toBe(outside);
      },
      linkX,
    );
    for (const include of [[], ['--include', 'x/new.txt']]) {
      await hostileCase(
        snapshotWithFolderX,
        async ({ store, snapshot, target }) => {
          const r = await restore(store, snapshot, target, '--overwrite', ...include);
          expect(r.code, r.stderr).toBe(0);
          const facts = await treeFacts(target);
          expect(facts.x?.type).toBe('dir');
          expect(facts['x/new.txt']).toMatchObject({ type: 'file', size: 4 });
          if (include.length === 0) expect(facts['x/canary.txt']).toMatchObject({ type: 'file', mode: 0o666, size: 9 });
        },
        linkX,
      );
    }
  });

  it('the target already holds a link to a file outside where the snapshot has a file: exit 3 and the link kept; --overwrite replaces the link with the file', {
    timeout: CASE_TIMEOUT,
  }, async () => {
    const canary = join(outside, 'canary.txt');
    const snapshotWithFileY = async (s: CraftedStore): Promise<TreeNode[]> => [
      await s.dir('big', [await s.file('y', Buffer.alloc(300 * 1024, 1), 0o666)]),
      await s.file('y', 'replaced\n', 0o666),
    ];
    const linkY = async (target: string): Promise<void> => {
      await fs.symlink(canary, join(target, 'y'));
      await fs.mkdir(join(target, 'big'));
      await fs.symlink(canary, join(target, 'big', 'y'));
    };
    await hostileCase(
      snapshotWithFileY,
      async ({ store, snapshot, target }) => {
        expectCleanErrors(await restore(store, snapshot, target), 3, /cannot restore y: exists/);
        expect(await fs.readlink(join(target, 'y'))).toBe(canary);
        expect(await fs.readlink(join(target, 'big', 'y'))).toBe(canary);
      },
      linkY,
    );
    await hostileCase(
      snapshotWithFileY,
      async ({ store, snapshot, target }) => {
        const r = await restore(store, snapshot, target, '--overwrite');
        expect(r.code, r.stderr).toBe(0);
        const facts = await treeFacts(target);
        // Both sizes: a small file (written whole) and a large one (streamed) take different paths.
        expect(facts.y).toMatchObject({ type: 'file', mode: 0o666, size: 9 });
        expect(facts['big/y']).toMatchObject({ type: 'file', mode: 0o666, size: 300 * 1024 });
      },
      linkY,
    );
  });
});

describe('restore stays inside its target even when handed trees decodeTree would refuse', () => {
  afterAll(removeTempDirs);

  it('a link then a folder of its name, and folders named ".." and "a/../..": nothing written outside, every bad entry reported', {
    timeout: CASE_TIMEOUT,
  }, async () => {
    const work = await tempDir('security-inprocess');
    const outside = join(work, 'outside');
    const target = join(work, 'parent', 'target');
    await fs.mkdir(outside);
    await fs.chmod(outside, 0o751);
    await fs.mkdir(target, { recursive: true });
    const crafted = await CraftedStore.create(join(work, 'store'), PASSWORD);
    try {
      const planted = await crafted.file('planted.txt', 'through\n', 0o666);
      const trees = new Map<string, TreeNode[]>([
        [
          'root',
          [
            crafted.link('a', outside),
            { ...planted, name: 'a', type: 'dir', size: 0, mode: 0o777, subtree: 'sub' },
            { ...planted, name: '..', type: 'dir', size: 0, mode: 0o777, subtree: 'sub' },
            { ...planted, name: 'a/../..', type: 'dir', size: 0, mode: 0o777, subtree: 'sub' },
          ],
        ],
        ['sub', [planted]],
      ]);
      await crafted.repo.flush();
      // The decoder is left out: these trees reach the restorer as they are.
      crafted.repo.loadTree = async (id: string) => ({ nodes: trees.get(id)! });
      const before = await treeFacts(work);
      const failed: string[] = [];
      const { restore: restoreInProcess } = await import('../../src/backup/restorer.js');
      const result = await restoreInProcess(crafted.repo, 'root', target, { onError: (path, err) => failed.push(`${path}: ${err.message}`) });
      expect(failed).toEqual([
        expect.stringMatching(/^a: exists and is not a folder \(a link/),
        expect.stringMatching(/^\.\.: invalid entry name/),
        expect.stringMatching(/^a\/\.\.\/\.\.: invalid entry name/),
      ]);
      expect(result.failed).toBe(3);
      const outsideTarget = (facts: Record<string, EntryFacts>): Record<string, EntryFacts> =>
        Object.fromEntries(Object.entries(facts).filter(([rel]) => !/^(parent\/target|store)(\/|$)/.test(rel)));
      expect(outsideTarget(await treeFacts(work))).toEqual(outsideTarget(before));
      expect(await fs.readlink(join(target, 'a'))).toBe(outside);
    } finally {
      await crafted.close();
    }
  });
});
