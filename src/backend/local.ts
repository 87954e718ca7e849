import { constants, type Dirent, promises as fs } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fromSystemError } from '../errors.js';
import { tooLarge } from './backend.js';
import type { Backend } from './backend.js';
import { OpenFiles } from './open-files.js';

const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

/**
 * Pieces written in order, many to a system call: a pack of small blobs has thousands of pieces, and
 * a trip through libuv's pool for each was most of a commit of small files.
 */
async function writeAll(handle: fs.FileHandle, pieces: readonly Buffer[]): Promise<void> {
  let position = 0;
  for (let i = 0; i < pieces.length; i += PIECES_PER_WRITE) {
    let batch = pieces.slice(i, i + PIECES_PER_WRITE);
    let left = batch.reduce((n, b) => n + b.length, 0);
    while (left > 0) {
      const { bytesWritten } = await handle.writev(batch, position);
      if (bytesWritten <= 0) throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
      position += bytesWritten;
      left -= bytesWritten;
      batch = skipBytes(batch, bytesWritten);
    }
  }
}

/** The pieces less their first `n` bytes (after a short write). */
function skipBytes(pieces: readonly Buffer[], n: number): Buffer[] {
  const out: Buffer[] = [];
  for (const piece of pieces) {
    if (n >= piece.length) n -= piece.length;
    else {
      out.push(n > 0 ? piece.subarray(n) : piece);
      n = 0;
    }
  }
  return out;
}

/** IOV_MAX on Linux: what one writev takes. */
const PIECES_PER_WRITE = 1024;

/** A store in a local folder. */
export class LocalBackend implements Backend {
  readonly writable = true;
  /** Packs are immutable, so their handles can stay open between blob reads. */
  private readonly openFiles = new OpenFiles();
  constructor(readonly location: string) {}

  private abs(path: string): string {
    return join(this.location, path);
  }

  async read(path: string, maxBytes?: number): Promise<Buffer> {
    let handle: fs.FileHandle | null = null;
    try {
      handle = await fs.open(this.abs(path), 'r');
      if (maxBytes !== undefined) tooLarge(path, (await handle.stat()).size, maxBytes);
      return await handle.readFile();
    } catch (err) {
      throw fromSystemError(err, path);
    } finally {
      await handle?.close();
    }
  }

  async readRange(path: string, offset: number, length: number): Promise<Buffer> {
    try {
      return await this.openFiles.use(this.abs(path), async (handle) => {
        const buf = Buffer.allocUnsafe(length);
        let done = 0;
        while (done < length) {
          const { bytesRead } = await handle.read(buf, done, length - done, offset + done);
          if (bytesRead === 0) break;
          done += bytesRead;
        }
        return done === length ? buf : buf.subarray(0, done);
      });
    } catch (err) {
      throw fromSystemError(err, path);
    }
  }

  async write(path: string, data: Buffer | readonly Buffer[]): Promise<void> {
    const target = this.abs(path);
    this.openFiles.drop(target);
    const dir = dirname(target);
    const temp = join(dir, `.tmp-${randomBytes(6).toString('hex')}`);
    try {
      await fs.mkdir(dir, { recursive: true, mode: DIR_MODE });
      const handle = await fs.open(temp, 'wx', FILE_MODE);
      try {
        await writeAll(handle, Buffer.isBuffer(data) ? [data] : data);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.rename(temp, target);
      await syncDir(dir);
    } catch (err) {
      await fs.rm(temp, { force: true }).catch(() => undefined);
      throw fromSystemError(await explainWriteError(err, dir, this.location), path);
    }
  }

  async list(dir: string): Promise<string[]> {
    const root = this.abs(dir);
    const out: string[] = [];
    const walk = async (rel: string): Promise<void> => {
      let entries: Dirent[];
      try {
        entries = await fs.readdir(join(root, rel), { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
      for (const e of entries) {
        if (e.name.startsWith('.tmp-')) continue;
        const child = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) await walk(child);
        else if (e.isFile()) out.push(child);
      }
    };
    await walk('');
    return out.sort();
  }

  async size(path: string): Promise<number | null> {
    try {
      return (await fs.stat(this.abs(path))).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async remove(path: string): Promise<void> {
    this.openFiles.drop(this.abs(path));
    await fs.rm(this.abs(path), { force: true });
  }

  async close(): Promise<void> {
    await this.openFiles.closeAll();
  }

  async freeBytes(): Promise<number | null> {
    try {
      const s = await fs.statfs(this.location);
      return s.bavail * s.bsize;
    } catch {
      return null;
    }
  }
}

/**
 * Node's recursive mkdir reports ENOENT on a read-only file system; access(W_OK) on the deepest folder
 * of `dir` that exists, up to the store, tells the real reason (EROFS, EACCES).
 */
async function explainWriteError(err: unknown, dir: string, root: string): Promise<unknown> {
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return err;
  let existing = dir;
  while (
    existing !== root &&
    existing !== dirname(existing) &&
    !(await fs.stat(existing).then(
      () => true,
      () => false,
    ))
  )
    existing = dirname(existing);
  return fs.access(existing, constants.W_OK).then(
    () => err,
    (why: unknown) => why,
  );
}

async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
