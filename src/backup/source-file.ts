import { close, closeSync, lstatSync, open, openSync, read, readSync, readdirSync, readlinkSync, type BigIntStats, type Dirent } from 'node:fs';

// How the archiver reads its sources. Metadata and small files use the synchronous calls: from the
// page cache each is a short syscall, while a trip through libuv's thread pool costs the main thread
// far more (waking a pool thread, then the callback), four trips per small file: that was most of a
// small-files backup (figures: docs/BENCHMARKS.md, "Measurements behind design choices"). Large
// files are read asynchronously in big pieces, so the pool overlaps their I/O with compression. The
// mount never calls these: nothing the mount reaches may block the event loop (docs/DESIGN.md).

/**
 * An error reading a source (as opposed to one from the store): the archiver warns, leaves the entry
 * out and goes on, and the backup exits PARTIAL. Its message is the system's.
 */
export class SourceReadError extends Error {
  constructor(cause: unknown) {
    super((cause as Error | undefined)?.message ?? String(cause), { cause });
    this.name = 'SourceReadError';
  }
}

function fromSource<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    throw new SourceReadError(err);
  }
}

const sourceCallback =
  <T>(resolve: (value: T) => void, reject: (err: unknown) => void) =>
  (err: NodeJS.ErrnoException | null, value: T): void =>
    err ? reject(new SourceReadError(err)) : resolve(value);

export function lstatBig(path: string): BigIntStats {
  return fromSource(() => lstatSync(path, { bigint: true }));
}

export function readLink(path: string): string {
  return fromSource(() => readlinkSync(path));
}

export function readDirents(path: string): Dirent[] {
  return fromSource(() => readdirSync(path, { withFileTypes: true }));
}

/** A whole small file, or null when it is not `expectedSize` bytes long any more (read it in pieces then). */
export function readSmallFile(path: string, expectedSize: number): Buffer | null {
  const fd = fromSource(() => openSync(path, 'r'));
  try {
    // A byte more than expected, to see a file that grew since lstat.
    const buf = Buffer.allocUnsafe(expectedSize + 1);
    let got = 0;
    for (;;) {
      const n = fromSource(() => readSync(fd, buf, got, buf.length - got, got));
      if (n === 0) break;
      got += n;
      if (got === buf.length) break;
    }
    return got === expectedSize ? buf.subarray(0, got) : null;
  } finally {
    fromSource(() => closeSync(fd));
  }
}

export function openRead(path: string): Promise<number> {
  return new Promise((resolve, reject) => open(path, 'r', sourceCallback(resolve, reject)));
}

/** One read call into `buf` at `position` (it may return fewer bytes than asked, 0 at the end). */
export function readAt(fd: number, buf: Buffer, position: number): Promise<number> {
  return new Promise((resolve, reject) => read(fd, buf, 0, buf.length, position, sourceCallback(resolve, reject)));
}

export function closeFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => close(fd, (err) => (err ? reject(new SourceReadError(err)) : resolve())));
}
