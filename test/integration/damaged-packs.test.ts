import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initStore, jsonLine, sinki, sinkiOk } from '../helpers/cli.js';
import { bytesDigest, listPacks, packName, pseudoRandomBytes, walk } from '../helpers/files.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';

const MiB = 1024 * 1024;

/**
 * A store with two snapshots of one folder:
 *  - first:  a-victim.zip (incompressible, so stored raw and packed first), b-keeper.txt → pack A
 *  - second: adds c-later.txt                                                 → pack B (c-later and the new trees)
 * The second snapshot's files a-victim.zip and b-keeper.txt live in pack A, c-later.txt in pack B.
 */
describe('damaged, swapped and missing packs', () => {
  let work: string;
  let pristine: string;
  let src: string;
  let packA: string;
  let packB: string;
  let copies = 0;
  const victim = pseudoRandomBytes('victim', 3 * MiB); // several content-defined chunks
  const keeper = 'keep me safe\n'.repeat(200);
  const later = 'added in the second snapshot\n'.repeat(50);

  const copyStore = async (): Promise<string> => {
    const dest = join(work, `copy-${copies++}`);
    await fs.cp(pristine, dest, { recursive: true });
    return dest;
  };

  /** Runs a restore of the latest snapshot into a fresh folder; returns the result and what is in the folder. */
  const restoreLatest = async (store: string): Promise<{ code: number; stdout: string; stderr: string; target: string; files: string[] }> => {
    const target = join(work, `restore-${copies++}`);
    const r = await sinki(['restore', 'latest', target, '--json'], { store });
    return { ...r, target, files: (await walk(target)).map((e) => e.rel) };
  };

  beforeAll(async () => {
    work = await tempDir('damage');
    pristine = join(work, 'store');
    src = join(work, 'src');
    await fs.mkdir(src);
    await fs.writeFile(join(src, 'a-victim.zip'), victim);
    await fs.writeFile(join(src, 'b-keeper.txt'), keeper);
    await initStore(pristine);
    await sinkiOk(['backup', src], { store: pristine });
    const first = await listPacks(pristine);
    expect(first).toHaveLength(1);
    packA = first[0]!;
    await fs.writeFile(join(src, 'c-later.txt'), later);
    await sinkiOk(['backup', src], { store: pristine });
    const both = await listPacks(pristine);
    expect(both).toHaveLength(2);
    packB = both.find((p) => p !== packA)!;
    expect((await sinkiOk(['check', '--read-data'], { store: pristine })).stdout).toMatch(/^no errors were found \(2 snapshots, 2 packs/);
  });

  afterAll(removeTempDirs);

  it('a flipped byte in a pack: check --read-data exits 13 naming the pack and the damaged file; restore gives back the others and not a byte of it', async () => {
    const store = await copyStore();
    const file = join(store, packA);
    const bytes = await fs.readFile(file);
    // a-victim.zip's chunks are stored raw right after the 37-byte prefix (b-keeper.txt's small blob may
    // come before them, ~150 bytes): this byte is in the victim's last chunk either way, so a restore that
    // wrote chunk by chunk would already have written the others
    const at = 37 + victim.length - 1000;
    bytes[at] = bytes[at]! ^ 0x01;
    await fs.writeFile(file, bytes);

    const check = await sinki(['check', '--read-data'], { store });
    expect(check.code).toBe(13);
    expect(check.stdout).toMatch(/problem\(s\) found/);
    expect(check.stderr).toMatch(new RegExp(`pack ${packName(packA)}: content does not match its name \\(SHA-256\\), 1 damaged blob`));
    expect(check.stderr).toMatch(/file \/src\/a-victim\.zip is damaged: 1 of [2-9] chunk\(s\) lost/);
    expect(check.stderr).not.toMatch(/b-keeper|c-later|cannot be read/);
    expect(check.stderr).not.toContain(packName(packB));

    const r = await restoreLatest(store);
    expect(r.code).toBe(13);
    expect(r.files.sort()).toEqual(['src', 'src/b-keeper.txt', 'src/c-later.txt']); // no partial or temp file of the victim
    expect(await fs.readFile(join(r.target, 'src', 'b-keeper.txt'), 'utf8')).toBe(keeper);
    expect(await fs.readFile(join(r.target, 'src', 'c-later.txt'), 'utf8')).toBe(later);
    expect(jsonLine(r.stdout, 'error')).toEqual({
      type: 'error',
      path: 'src/a-victim.zip',
      message: expect.stringMatching(new RegExp(`pack ${packName(packA)}: authentication failed`)),
    });
    expect(jsonLine(r.stdout, 'summary')).toMatchObject({ files: 2, failed: 1 });

    const cat = await sinki(['cat', 'latest', 'src/a-victim.zip'], { store });
    expect(cat.code).toBe(13);
    expect(cat.stdoutBytes.length).toBeLessThan(victim.length);
    expect(cat.stderr).toMatch(/^sinki: .*authentication failed/m);
  });

  it('a pack swapped for another (B copied over A): check names pack A and its files; restore fails for those only', async () => {
    const store = await copyStore();
    await fs.copyFile(join(store, packB), join(store, packA));

    const check = await sinki(['check', '--read-data'], { store });
    expect(check.code).toBe(13);
    expect(check.stderr).toMatch(new RegExp(`pack ${packName(packA)}: content does not match its name`));
    expect(check.stderr).toMatch(/file \/src\/a-victim\.zip is damaged/);
    expect(check.stderr).toMatch(/file \/src\/b-keeper\.txt is damaged/);
    expect(check.stderr).not.toMatch(/c-later/);

    const r = await restoreLatest(store);
    expect(r.code).toBe(13);
    expect(r.files.sort()).toEqual(['src', 'src/c-later.txt']);
    expect(await fs.readFile(join(r.target, 'src', 'c-later.txt'), 'utf8')).toBe(later);
    expect(r.stdout).toMatch(/"path":"src\/a-victim\.zip"/);
    expect(r.stdout).toMatch(/"path":"src\/b-keeper\.txt"/);
  });

  it('a missing pack: check (even without --read-data) says missing and names the files; restore fails for those only', async () => {
    const store = await copyStore();
    await fs.rm(join(store, packA));

    const check = await sinki(['check'], { store });
    expect(check.code).toBe(13);
    expect(check.stderr).toMatch(new RegExp(`pack ${packName(packA)}: missing`));
    expect(check.stderr).toMatch(/file \/src\/a-victim\.zip is damaged/);
    expect(check.stderr).toMatch(/file \/src\/b-keeper\.txt is damaged/);
    expect(check.stderr).not.toMatch(/c-later/);

    const r = await restoreLatest(store);
    expect(r.code).toBe(13);
    expect(r.files.sort()).toEqual(['src', 'src/c-later.txt']);
    expect(r.stdout).toMatch(new RegExp(`pack ${packName(packA)} is missing`));
  });

  it('a pack that lost its tail (header): check --read-data flags the pack, yet no file is lost and restore is complete', async () => {
    const store = await copyStore();
    const file = join(store, packA);
    await fs.truncate(file, (await fs.stat(file)).size - 100); // footer and most of the sealed header
    const check = await sinki(['check', '--read-data'], { store });
    expect(check.code).toBe(13);
    expect(check.stderr).toMatch(new RegExp(`pack ${packName(packA)}: content does not match its name \\(SHA-256\\), header damaged\n`));
    expect(check.stderr).not.toMatch(/is damaged|cannot be read/); // every blob still opens and verifies
    const r = await restoreLatest(store);
    expect(r.code).toBe(0);
    expect(bytesDigest(await fs.readFile(join(r.target, 'src', 'a-victim.zip')))).toEqual(bytesDigest(victim));
  });

  it('a pack cut in half: check and restore name what is lost (13), the rest restores', async () => {
    const store = await copyStore();
    const file = join(store, packA);
    await fs.truncate(file, 37 + 1000);
    const check = await sinki(['check', '--read-data'], { store });
    expect(check.code).toBe(13);
    expect(check.stderr).toMatch(new RegExp(`pack ${packName(packA)}: .*header damaged, \\d+ damaged blob`));
    expect(check.stderr).toMatch(/file \/src\/a-victim\.zip is damaged/);
    const r = await restoreLatest(store);
    expect(r.code).toBe(13);
    // b-keeper.txt's one small blob may sit before the cut or after it: files are read side by side, so
    // the order of blobs in a pack is not the order of names. Whatever comes back is intact.
    const restored = r.files.sort();
    expect(restored.filter((f) => f !== 'src/b-keeper.txt')).toEqual(['src', 'src/c-later.txt']);
    if (restored.includes('src/b-keeper.txt')) expect(await fs.readFile(join(r.target, 'src', 'b-keeper.txt'), 'utf8')).toBe(keeper);
    expect(r.stdout).toMatch(new RegExp(`pack ${packName(packA)} is truncated`));
  });

  it('a lost index segment: check exits 13 for the snapshots it breaks (its packs are then merely unreferenced)', async () => {
    const store = await copyStore();
    for (const seg of await fs.readdir(join(store, 'index'))) await fs.rm(join(store, 'index', seg));
    const check = await sinki(['check'], { store });
    expect(check.code).toBe(13);
    expect(check.stderr).toMatch(/folder \/ cannot be read \(blob [0-9a-f]+ is not in the index/);
    expect(check.stderr).toMatch(new RegExp(`^note: pack ${packName(packA)}: not in the index`, 'm'));
    expect(check.stdout).toMatch(/2 unreferenced/);
  });

  it('a damaged snapshot file or index segment: check exits 13 and names it', async () => {
    const store = await copyStore();
    const [snap] = await fs.readdir(join(store, 'snapshots'));
    const snapFile = join(store, 'snapshots', snap!);
    const bytes = await fs.readFile(snapFile);
    bytes[bytes.length - 5] = bytes[bytes.length - 5]! ^ 0xff;
    await fs.writeFile(snapFile, bytes);
    const check = await sinki(['check'], { store });
    expect(check.code).toBe(13);
    expect(check.stderr).toMatch(new RegExp(`snapshot ${snap}: content does not match its name`));

    const store2 = await copyStore();
    const [seg] = await fs.readdir(join(store2, 'index'));
    await fs.truncate(join(store2, 'index', seg!), 20);
    const ls = await sinki(['ls', 'latest'], { store: store2 });
    expect(ls.code).toBe(13);
    expect(ls.stderr).toMatch(new RegExp(`^sinki: index/${seg}: .*damaged.*\\n$`));
  });
});
