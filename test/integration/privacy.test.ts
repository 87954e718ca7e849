import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST_KDF, initStore, run, sinkiOk } from '../helpers/cli.js';
import { pseudoRandomBytes, sha256File, walk } from '../helpers/files.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';

/** Strings that exist only in the source tree; none may show up in the store's bytes. */
const SECRETS = {
  fileName: 'zebra-secret-name.txt',
  dirName: 'quokka-hidden-dir',
  rawName: 'narwhal-incompressible.zip',
  tinyName: 'axolotl-tiny.txt',
  linkName: 'pangolin-link',
  linkTarget: 'platypus-link-target/nowhere',
  marker: 'MARKER-okapi-7f3a-',
  tinyMarker: 'wombat-small-secret',
  sourceDirPrefix: 'sinki-privacy-src-ibex',
};

describe('privacy and integrity of the store on disk', () => {
  let work: string;
  let store: string;
  let src: string;

  beforeAll(async () => {
    work = await tempDir('privacy');
    store = join(work, 'new-store-folder'); // created by init, so its own mode is sinki's too
    src = join(work, SECRETS.sourceDirPrefix);
    await fs.mkdir(join(src, SECRETS.dirName), { recursive: true });
    // compressible: xz shrinks it, so it is stored compressed
    await fs.writeFile(join(src, SECRETS.fileName), SECRETS.marker.repeat(20_000));
    // incompressible and on the no-compress list: stored raw (but sealed), with the marker inside
    const raw = pseudoRandomBytes('privacy', 2 * 1024 * 1024);
    for (let at = 1000; at < raw.length; at += 100_000) raw.write(SECRETS.marker, at);
    await fs.writeFile(join(src, SECRETS.dirName, SECRETS.rawName), raw);
    // below the minimum compress size: stored raw (but sealed)
    await fs.writeFile(join(src, SECRETS.dirName, SECRETS.tinyName), SECRETS.tinyMarker);
    await fs.symlink(SECRETS.linkTarget, join(src, SECRETS.linkName));
    await initStore(store);
    await sinkiOk(['backup', src, '--tag', 'privacy'], { store });
    await fs.appendFile(join(src, SECRETS.fileName), 'changed');
    await sinkiOk(['backup', src], { store });
    await sinkiOk(['key', 'add', ...FAST_KDF], { store, env: { SINKI_NEW_PASSWORD: 'second password' } });
  }, 60_000);

  afterAll(removeTempDirs);

  it('no file name, link target, path or content from the source appears in any file of the store', async () => {
    const files = (await walk(store)).filter((e) => e.stat.isFile());
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) {
      // names of the store's own files are ids, never source names
      for (const secret of Object.values(SECRETS)) expect(f.rel).not.toContain(secret);
      const bytes = await fs.readFile(f.abs);
      for (const [what, secret] of Object.entries(SECRETS)) {
        expect(bytes.includes(Buffer.from(secret, 'utf8')), `${what} found in ${f.rel}`).toBe(false);
      }
      expect(bytes.includes(Buffer.from(work, 'utf8')), `the source path found in ${f.rel}`).toBe(false);
    }
  });

  it('every file of the store is mode 0600 and every folder 0700', async () => {
    const entries = [{ rel: '.', stat: await fs.lstat(store) }, ...(await walk(store))];
    const modes = entries.map((e) => [e.rel, e.stat.isDirectory() ? 'dir' : e.stat.isFile() ? 'file' : 'other', (e.stat.mode & 0o7777).toString(8)]);
    expect(modes).toEqual(entries.map((e) => [e.rel, e.stat.isDirectory() ? 'dir' : 'file', e.stat.isDirectory() ? '700' : '600']));
  });

  it('every pack is named by its SHA-256, and SHA256SUMS verifies with sha256sum -c', async () => {
    const packs = (await walk(join(store, 'packs'))).filter((e) => e.stat.isFile());
    expect(packs.length).toBeGreaterThanOrEqual(2);
    for (const p of packs) {
      const name = p.rel.split('/')[1]!;
      expect(p.rel).toBe(`${name.slice(0, 2)}/${name}`);
      expect(await sha256File(p.abs)).toBe(name);
      const bySha256sum = await run('sha256sum', [p.abs]);
      expect(bySha256sum.stdout.split(' ')[0]).toBe(name);
    }
    const sums = await run('sha256sum', ['-c', '--strict', 'SHA256SUMS'], { cwd: store });
    expect(sums.stderr).toBe('');
    expect(sums.code).toBe(0);
    // it lists every pack, index segment and snapshot
    const objects = (await walk(store)).filter((e) => e.stat.isFile() && /^(packs|index|snapshots)\//.test(e.rel)).map((e) => e.rel);
    const listed = (await fs.readFile(join(store, 'SHA256SUMS'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => l.split('  ')[1]);
    expect(listed.sort()).toEqual(objects.sort());
    expect(objects.filter((o) => o.startsWith('snapshots/'))).toHaveLength(2);
  });

  it('no lock is left behind', async () => {
    expect(await fs.readdir(join(store, 'locks')).catch(() => [])).toEqual([]);
  });
});
