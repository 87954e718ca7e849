import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalBackend } from '../../../src/backend/local.js';
import { removeTempDirs, tempDir } from '../../helpers/temp.js';

describe('LocalBackend.write', () => {
  afterAll(removeTempDirs);

  it('a file written in thousands of pieces (empty ones too) holds them in order, and no temp file is left', async () => {
    const dir = await tempDir('local-backend');
    const backend = new LocalBackend(dir);
    // More pieces than one writev takes, of sizes that do not line up with any batch.
    const pieces = Array.from({ length: 2500 }, (_, i) => Buffer.alloc(i % 7 === 0 ? 0 : (i * 37) % 1500, i % 251));
    await backend.write('data/ab/pack', pieces);
    expect((await backend.read('data/ab/pack')).equals(Buffer.concat(pieces))).toBe(true);
    expect(await fs.readdir(join(dir, 'data/ab'))).toEqual(['pack']);
    await backend.write('one', Buffer.from('a single buffer'));
    expect((await backend.read('one')).toString()).toBe('a single buffer');
  });
});
