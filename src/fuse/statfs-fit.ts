import type { StatFs } from './fuse-adapter.js';

const UINT32_MAX = 0xffffffff;

/**
 * fuse-native passes statfs counts as 32-bit numbers: a disk of more than 2^32 blocks (16 TiB at
 * 4 KiB) would wrap. Larger blocks keep the byte counts right; inode counts are capped.
 */
export function fitStatfs(s: StatFs): StatFs {
  let { bsize, blocks, bfree, bavail } = s;
  while (blocks > UINT32_MAX) {
    bsize *= 2;
    blocks = Math.floor(blocks / 2);
    bfree = Math.floor(bfree / 2);
    bavail = Math.floor(bavail / 2);
  }
  return { ...s, bsize, frsize: bsize, blocks, bfree, bavail, files: Math.min(s.files, UINT32_MAX), ffree: Math.min(s.ffree, UINT32_MAX) };
}
