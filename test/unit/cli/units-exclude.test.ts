import { describe, expect, it } from 'vitest';
import { parseDuration, parseSize, formatBytes, parsePositiveInt } from '../../../src/units.js';
import { ExcludeMatcher, globToRegExp } from '../../../src/backup/exclude.js';
import { compressFile, parseExtList } from '../../../src/codec/policy.js';
import { snapshotDirName, snapshotNames } from '../../../src/fuse/snapshots-dir.js';

describe('units', () => {
  it('parses sizes and durations, rejects junk with a usage error', () => {
    expect(parseSize('4M', 'x')).toBe(4 * 1024 * 1024);
    expect(parseSize('512KiB', 'x')).toBe(512 * 1024);
    expect(parseSize('1.5g', 'x')).toBe(1.5 * 1024 ** 3);
    expect(parseSize('100', 'x')).toBe(100);
    expect(() => parseSize('4Q', '--chunk-size')).toThrow(/--chunk-size/);
    expect(parseDuration('90s', 'x')).toBe(90_000);
    expect(parseDuration('2h', 'x')).toBe(7_200_000);
    expect(() => parseDuration('soon', 'x')).toThrow(/duration/);
    expect(parsePositiveInt('7', 'x', 0, 9)).toBe(7);
    expect(() => parsePositiveInt('10', '--preset', 0, 9)).toThrow(/--preset/);
    expect(formatBytes(1536)).toBe('1.50 KiB');
  });
});

describe('exclude globs', () => {
  it('match names, paths and ** as documented', () => {
    expect(globToRegExp('*.tmp').test('a.tmp')).toBe(true);
    expect(globToRegExp('*.tmp').test('d/a.tmp')).toBe(false);
    const m = new ExcludeMatcher(['*.tmp', 'cache/**', '# comment', '', 'build/', '/abs/path/x']);
    expect(m.excludes('a.tmp', 'deep/a.tmp', '/s/deep/a.tmp')).toBe(true);
    expect(m.excludes('f', 'cache/x/y/f', '/s/cache/x/y/f')).toBe(true);
    expect(m.excludes('build', 'build', '/s/build')).toBe(true);
    expect(m.excludes('x', 'path/x', '/abs/path/x')).toBe(true);
    expect(m.excludes('keep.txt', 'keep.txt', '/s/keep.txt')).toBe(false);
  });
});

describe('compression policy', () => {
  it('skips listed extensions case-insensitively', () => {
    const policy = { preset: 1, minCompressSize: 120, noCompressExt: parseExtList('jpg, .PNG,mp4') };
    expect(policy.noCompressExt).toEqual(['jpg', 'png', 'mp4']);
    expect(compressFile('a.JPG', policy)).toBe(false);
    expect(compressFile('a.png', policy)).toBe(false);
    expect(compressFile('a.txt', policy)).toBe(true);
    expect(compressFile('Makefile', policy)).toBe(true);
  });
});

describe('snapshot folder names', () => {
  it('are colon-free and unique', () => {
    expect(snapshotDirName('2026-11-25T12:40:08.123Z')).toBe('2026-11-25T12-40-08Z');
    const base = { host: 'h', username: 'u', paths: [], tags: [], tree: 't' };
    const names = [
      ...snapshotNames([
        { ...base, id: 'aaaaaaaaaa', time: '2026-11-25T12:40:08.100Z' },
        { ...base, id: 'bbbbbbbbbb', time: '2026-11-25T12:40:08.900Z' },
      ]).keys(),
    ];
    expect(names).toEqual(['2026-11-25T12-40-08Z', '2026-11-25T12-40-08Z-bbbbbbbb']);
  });
});
