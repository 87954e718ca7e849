import { describe, expect, it } from 'vitest';
import { InodeTable, inodeHash } from '../../../src/fuse/inodes.js';

describe('inode numbers', () => {
  it('a path gets the same number in every process: a hash of the parent number and the name', () => {
    expect(inodeHash(7, 'README.md')).toBe(inodeHash(7, 'README.md'));
    expect(inodeHash(7, 'README.md')).not.toBe(inodeHash(8, 'README.md'));
    // FNV-1a 32 (test vector: "a" → e40c292c) of "0/", the root: a change of hash would renumber
    // every file of every mount, and git would re-read every work tree once.
    expect(inodeHash(0, '')).toBe(0x02ed4180);
    expect(new InodeTable().root).toBe(0x02ed4180);
  });

  it('a number in use is never given twice; a released one goes back to its path', () => {
    const table = new InodeTable();
    const first = table.claim(12345, 'same-name');
    expect(first).toBe(inodeHash(12345, 'same-name'));
    const second = table.claim(12345, 'same-name');
    expect(second).not.toBe(first);
    table.release(first);
    expect(table.claim(12345, 'same-name')).toBe(first);
  });

  it("each table is its own: numbers one mount holds do not move another mount's", () => {
    const a = new InodeTable();
    const b = new InodeTable();
    expect(a.claim(12345, 'x')).toBe(inodeHash(12345, 'x'));
    expect(b.claim(12345, 'x')).toBe(inodeHash(12345, 'x'));
  });
});
