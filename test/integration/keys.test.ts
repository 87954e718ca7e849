import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOneErrorLine, FAST_KDF, initStore, PASSWORD, sinki, sinkiOk } from '../helpers/cli.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';

interface KeyJson {
  id: string;
  current: boolean;
  kdf: string | null;
  error: string | null;
}

const SECOND = 'a second, different password';
const THIRD = 'the password after passwd';

/** One store through a sequence of password changes; each step depends on the one before. */
describe('passwords (key files)', () => {
  let work: string;
  let store: string;

  const opensWith = async (password: string): Promise<number> => (await sinki(['cat', 'latest', 'src/f.txt'], { store, password })).code;
  const keyList = async (password: string): Promise<KeyJson[]> =>
    JSON.parse((await sinkiOk(['key', 'list', '--json'], { store, password })).stdout) as KeyJson[];
  const addKey = async (newPassword: string, password: string): Promise<string> => {
    const r = await sinkiOk(['key', 'add', ...FAST_KDF], { store, password, env: { SINKI_NEW_PASSWORD: newPassword } });
    const m = /^added key ([0-9a-f]+)\n$/.exec(r.stdout);
    expect(m).not.toBeNull();
    return m![1]!;
  };

  beforeAll(async () => {
    work = await tempDir('keys');
    store = join(work, 'store');
    const src = join(work, 'src');
    await fs.mkdir(src);
    await fs.writeFile(join(src, 'f.txt'), 'guarded by every key\n');
    await initStore(store);
    await sinkiOk(['backup', src], { store });
  });

  afterAll(removeTempDirs);

  it('key add, list, remove, passwd', async () => {
    const [first] = await keyList(PASSWORD);
    expect(first).toMatchObject({ current: true, kdf: 'pbkdf2', error: null });

    // add: both passwords open the store
    const secondId = await addKey(SECOND, PASSWORD);
    expect(await opensWith(PASSWORD)).toBe(0);
    expect(await opensWith(SECOND)).toBe(0);
    expect(await opensWith('neither of them')).toBe(12);
    const two = await keyList(PASSWORD);
    expect(two.map((k) => [k.id, k.current]).sort()).toEqual(
      [
        [first!.id, true],
        [secondId, false],
      ].sort(),
    );
    expect((await keyList(SECOND)).find((k) => k.current)?.id).toBe(secondId);
    const text = (await sinkiOk(['key', 'list'], { store })).stdout.trimEnd().split('\n');
    expect(text).toHaveLength(2);
    expect(text.filter((l) => l.startsWith('* '))).toEqual([expect.stringContaining(first!.id)]);

    // the key in use cannot be removed
    expectOneErrorLine(await sinki(['key', 'remove', first!.id], { store }), 2, /refusing to remove the key in use/);
    expectOneErrorLine(await sinki(['key', 'remove', 'ffffffffffffffff'], { store }), 14, /no key ffffffffffffffff/);
    expect(await keyList(PASSWORD)).toHaveLength(2);

    // remove the other one: its password stops working
    expect((await sinkiOk(['key', 'remove', secondId], { store })).stdout).toBe(`removed key ${secondId}\n`);
    expect(await opensWith(SECOND)).toBe(12);
    expect(await keyList(PASSWORD)).toHaveLength(1);

    // passwd: the new one works, the old one gets exit 12, and the data is untouched
    const p = await sinkiOk(['key', 'passwd', ...FAST_KDF], { store, env: { SINKI_NEW_PASSWORD: THIRD } });
    expect(p.stdout).toMatch(new RegExp(`^password changed \\(key ${first!.id} replaced by [0-9a-f]+\\)\\n$`));
    expectOneErrorLine(await sinki(['ls', 'latest'], { store }), 12, /wrong password/);
    const cat = await sinkiOk(['cat', 'latest', 'src/f.txt'], { store, password: THIRD });
    expect(cat.stdout).toBe('guarded by every key\n');
    const after = await keyList(THIRD);
    expect(after).toHaveLength(1);
    expect(after[0]!.id).not.toBe(first!.id);
    expect(await fs.readdir(join(store, 'keys'))).toEqual([`${after[0]!.id}.json`]);
  });

  it('key add without a new password and without a terminal is a usage error (2), and adds nothing', async () => {
    expectOneErrorLine(await sinki(['key', 'add', ...FAST_KDF], { store, password: THIRD }), 2, /no password given/);
    expect(await keyList(THIRD)).toHaveLength(1);
  });

  it('a key added with scrypt opens the store', async () => {
    await sinkiOk(['key', 'add', '--kdf', 'scrypt', '--kdf-iterations', '1024', '--insecure-kdf'], {
      store,
      password: THIRD,
      env: { SINKI_NEW_PASSWORD: SECOND },
    });
    expect(await opensWith(SECOND)).toBe(0);
    expect((await keyList(SECOND)).find((k) => k.current)?.kdf).toBe('scrypt');
  });
});
