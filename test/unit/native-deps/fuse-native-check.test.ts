import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PATCH_LEVEL } from '../../../src/fuse/fuse-adapter.js';
import { removeTempDirs, tempDir } from '../../helpers/temp.js';

interface ChecksModule {
  fuseNativePatchLevel(): number;
  fuseNativeTimesCheck(buildDir: string): { ok: boolean; detail: string };
}
const checks = (await import(new URL('../../../native-deps/checks.mjs', import.meta.url).href)) as ChecksModule;

describe('sinki doctor on the patched fuse-native', () => {
  afterAll(removeTempDirs);

  it('the adapter wants the level the patch gives the module', () => {
    expect(checks.fuseNativePatchLevel()).toBe(PATCH_LEVEL);
  });

  it('not built, or built from an older patch: says the shipped module serves mounts and what that loses', async () => {
    const dir = await tempDir('fuse-native-check');
    const missing = checks.fuseNativeTimesCheck(join(dir, 'none'));
    expect(missing.ok).toBe(false);
    expect(missing.detail).toMatch(
      /^not built: the shipped fuse-native serves mounts; mtimes set by cp -a, rsync -a and touch -d are lost .* cut to whole milliseconds$/,
    );

    // The first patch (utimens only) set no level.
    await fs.writeFile(join(dir, 'index.js'), 'module.exports = function Fuse () {}\n');
    const stale = checks.fuseNativeTimesCheck(dir);
    expect(stale.ok).toBe(false);
    expect(stale.detail).toContain(`built from an older patch (level 1, want ${PATCH_LEVEL}), so not used: the shipped fuse-native serves mounts`);

    // Another folder: require caches the first index.js.
    const current = join(dir, 'current');
    await fs.mkdir(current);
    await fs.writeFile(join(current, 'index.js'), `module.exports = { SINKI_PATCH_LEVEL: ${PATCH_LEVEL} }\n`);
    expect(checks.fuseNativeTimesCheck(current)).toEqual({ ok: true, detail: expect.stringContaining('to the nanosecond') });
  });
});
