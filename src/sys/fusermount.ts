import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { SinkiError } from '../errors.js';

const run = promisify(execFile);

/** `fusermount ARGS MOUNTPOINT` (or fusermount3, fuse 3's name for it). */
export async function fusermount(args: string[], mountpoint: string): Promise<void> {
  for (const bin of ['fusermount', 'fusermount3']) {
    try {
      await run(bin, [...args, mountpoint]);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new SinkiError('FATAL', `${bin} ${args.join(' ')} ${mountpoint} failed: ${((err as { stderr?: string }).stderr ?? (err as Error).message).trim()}`);
    }
  }
  throw new SinkiError('NO_FUSE', 'fusermount not found; install fuse3 (apt-get install fuse3)');
}
