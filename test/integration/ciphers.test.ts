import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST_KDF, run, sinki, sinkiOk } from '../helpers/cli.js';
import { pseudoRandomBytes } from '../helpers/files.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';

const VARIANTS: Array<{ name: string; init: string[]; cipher: string; kdf: Record<string, unknown> }> = [
  { name: 'aes-128-gcm (default) + pbkdf2', init: FAST_KDF, cipher: 'aes-128-gcm', kdf: { name: 'pbkdf2', iterations: 1000 } },
  { name: 'aes-256-gcm', init: ['--cipher', 'aes-256-gcm', ...FAST_KDF], cipher: 'aes-256-gcm', kdf: { name: 'pbkdf2' } },
  { name: 'chacha20-poly1305', init: ['--cipher', 'chacha20-poly1305', ...FAST_KDF], cipher: 'chacha20-poly1305', kdf: { name: 'pbkdf2' } },
  {
    name: 'scrypt key derivation',
    init: ['--kdf', 'scrypt', '--kdf-iterations', '1024', '--insecure-kdf'],
    cipher: 'aes-128-gcm',
    kdf: { name: 'scrypt', N: 1024 },
  },
];

describe('ciphers and key derivations', () => {
  let work: string;
  let src: string;

  beforeAll(async () => {
    work = await tempDir('ciphers');
    src = join(work, 'src');
    await fs.mkdir(join(src, 'dir'), { recursive: true });
    await fs.writeFile(join(src, 'random.bin'), pseudoRandomBytes('ciphers', 700 * 1024));
    await fs.writeFile(join(src, 'dir', 'text.txt'), 'compressible text\n'.repeat(1000));
    await fs.writeFile(join(src, 'tiny'), 'x');
    await fs.symlink('dir/text.txt', join(src, 'link'));
  });

  afterAll(removeTempDirs);

  describe.concurrent.each(VARIANTS)('$name', ({ name, init, cipher, kdf }) => {
    it('round-trips, checks clean, records its choice and refuses a wrong password', async () => {
      const store = join(work, `store-${name.replace(/\W+/g, '-')}`);
      const target = join(work, `restore-${name.replace(/\W+/g, '-')}`);
      const created = await sinkiOk(['init', ...init], { store });
      expect(created.stdout).toContain(`cipher ${cipher}`);
      await sinkiOk(['backup', src], { store });
      await sinkiOk(['restore', 'latest', target], { store });
      const diff = await run('diff', ['-r', '--no-dereference', src, join(target, 'src')]);
      expect(diff.stdout + diff.stderr).toBe('');
      expect(diff.code).toBe(0);
      expect((await sinkiOk(['check', '--read-data'], { store })).stdout).toMatch(/^no errors were found/);

      expect(JSON.parse(await fs.readFile(join(store, 'sinki.json'), 'utf8'))).toMatchObject({ cipher });
      const [keyName] = await fs.readdir(join(store, 'keys'));
      expect(JSON.parse(await fs.readFile(join(store, 'keys', keyName!), 'utf8'))).toMatchObject({ kdf });
      expect((await sinki(['ls', 'latest'], { store, password: 'wrong' })).code).toBe(12);
    });
  });
});
