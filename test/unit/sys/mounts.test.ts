import { describe, expect, it } from 'vitest';
import { mountAt, parseMountTable, unescapeMountField } from '../../../src/sys/mounts.js';

// As the kernel writes /proc/mounts: fields split by spaces, and a space, tab, newline or backslash
// inside a field written as \040, \011, \012, \134.
const TABLE = [
  'proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0',
  'tmpfs /tmp tmpfs rw,nosuid,nodev 0 0',
  'sinki /tmp/with\\040space\\011tab\\134backslash\\012newline fuse.sinki rw,nosuid,nodev,relatime,user_id=0,group_id=0 0 0',
  '/dev/sda1 /mnt/disk\\134040 ext4 rw,relatime 0 0',
  'tmpfs /tmp/stacked tmpfs rw 0 0',
  'sinki /tmp/stacked fuse.sinki rw 0 0',
  '',
].join('\n');

describe('the mount table', () => {
  it('unescapes the octal escapes the kernel writes, and nothing else', () => {
    expect(unescapeMountField('a\\040b\\011c\\012d\\134e')).toBe('a b\tc\nd\\e');
    expect(unescapeMountField('plain/path')).toBe('plain/path');
    // an escaped backslash followed by digits stays a backslash and digits
    expect(unescapeMountField('x\\134040')).toBe('x\\040');
  });

  it('parses each line into source, mountpoint, type and options, with names unescaped', () => {
    const table = parseMountTable(TABLE);
    expect(table).toHaveLength(6);
    expect(table[2]).toEqual({
      source: 'sinki',
      mountpoint: '/tmp/with space\ttab\\backslash\nnewline',
      fstype: 'fuse.sinki',
      options: 'rw,nosuid,nodev,relatime,user_id=0,group_id=0',
    });
    expect(table[3]!.mountpoint).toBe('/mnt/disk\\040');
  });

  it('finds what is mounted at a path by its real name; the last of stacked mounts wins', () => {
    const table = parseMountTable(TABLE);
    expect(mountAt(table, '/tmp/with space\ttab\\backslash\nnewline')?.fstype).toBe('fuse.sinki');
    expect(mountAt(table, '/tmp/with\\040space\\011tab\\134backslash\\012newline')).toBeUndefined();
    expect(mountAt(table, '/mnt/disk\\040')?.fstype).toBe('ext4');
    expect(mountAt(table, '/mnt/disk 0')).toBeUndefined();
    expect(mountAt(table, '/tmp/stacked')?.fstype).toBe('fuse.sinki');
    expect(mountAt(table, '/tmp/./stacked/')?.fstype).toBe('fuse.sinki');
    expect(mountAt(table, '/tmp/nothing')).toBeUndefined();
  });
});
