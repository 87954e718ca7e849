import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../helpers/cli.js';
import { listPacks, packName, pseudoRandomBytes } from '../helpers/files.js';
import { cleanup, errCode, makeStore, mount, readLog, umount, type Mounted, type Store } from './harness.js';

describe('a damaged pack under the mount', () => {
  let store: Store;
  let mnt: string;
  let m: Mounted;
  let pack: string;
  const victim = pseudoRandomBytes('damaged-victim', 300_000);

  beforeAll(async () => {
    store = await makeStore('damaged');
    mnt = join(store.work, 'mnt');
    m = await mount(store, mnt, ['--no-snapshot-on-unmount']);
    await fs.writeFile(join(mnt, 'victim.zip'), victim);
    await fs.writeFile(join(mnt, 'fine.txt'), 'unharmed\n');
    await umount(m);
    // One pack: the victim's chunk (stored raw: .zip is not compressed), the small file, the trees.
    const packs = await listPacks(store.path);
    expect(packs).toHaveLength(1);
    pack = packs[0]!;
    const file = join(store.path, pack);
    const bytes = await fs.readFile(file);
    const at = 150_000; // well inside the victim's 300 000 bytes
    bytes[at] = bytes[at]! ^ 0x01;
    await fs.chmod(file, 0o600);
    await fs.writeFile(file, bytes);
    m = await mount(store, mnt);
  });

  afterAll(cleanup);

  it('reading the damaged chunk fails with EIO, every time, and never returns bytes', async () => {
    expect(await errCode(fs.readFile(join(mnt, 'victim.zip')))).toBe('EIO');
    expect(await errCode(fs.readFile(join(mnt, 'victim.zip')))).toBe('EIO');
    const fh = await fs.open(join(mnt, 'victim.zip'));
    expect(await errCode(fh.read(Buffer.alloc(4096), 0, 4096, 200_000))).toBe('EIO');
    await fh.close();
    const cat = await run('cat', [join(mnt, 'victim.zip')]);
    expect(cat.code).not.toBe(0);
    expect(cat.stdoutBytes.length).toBe(0);
    expect(cat.stderr).toMatch(/Input\/output error/);
  });

  it('the rest of the tree still reads', async () => {
    expect(await fs.readFile(join(mnt, 'fine.txt'), 'utf8')).toBe('unharmed\n');
    expect((await fs.stat(join(mnt, 'victim.zip'))).size).toBe(victim.length);
  });

  it("the mount's log names the file, the blob and the pack", async () => {
    const log = await readLog(mnt);
    expect(log).toMatch(new RegExp(`read /victim\\.zip: blob [0-9a-f]{16} in pack ${packName(pack)}: authentication failed`));
    await umount(m);
  });
});
