import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Temp folders under os.tmpdir(). Make one per test with `tempDir()`, and call `removeTempDirs()`
 * from afterEach/afterAll; each folder is removed even if the test failed half-way.
 */
const made = new Set<string>();

export async function tempDir(label = 'test'): Promise<string> {
  const dir = await fs.mkdtemp(join(tmpdir(), `sinki-${label}-`));
  made.add(dir);
  return dir;
}

export async function removeTempDirs(): Promise<void> {
  const dirs = [...made];
  made.clear();
  await Promise.all(dirs.map((d) => fs.rm(d, { recursive: true, force: true })));
}
