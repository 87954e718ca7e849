import { close, closeSync, lstatSync, open, openSync, read, readSync, readdirSync, readlinkSync, type BigIntStats, type Dirent } from 'node:fs';

// How the archiver reads its sources. Metadata and small files use the synchronous calls: from the
// page cache each is a short syscall, while a trip through libuv's thread pool costs the main thread
// far more (waking a pool thread, then the callback), four trips per small file: that was most of a
// small-files backup (figures: docs/BENCHMARKS.md, "Measurements behind design choices"). Large
// files are read asynchronously in big pieces, so the pool overlaps their I/O with compression. The
// mount never calls these: nothing the mount reaches may block the event loop (docs/DESIGN.md).

export function lstatBig(path: string): BigIntStats {
  return lstatSync(path, { bigint: true });
}

export function readLink(path: string): string {
  return readlinkSync(path);
}

export function readDirents(path: string): Dirent[] {
  return readdirSync(path, { withFileTypes: true });
}

/** A whole small file, or null when it is not `expectedSize` bytes long any more (read it in pieces then). */
export function readSmallFile(path: string, expectedSize: number): Buffer | null {
  const fd = openSync(path, 'r');
  try {
    // A byte more than expected, to see a file that grew since lstat.
    const buf = Buffer.allocUnsafe(expectedSize + 1);
    let got = 0;
    for (;;) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
      if (got === buf.length) break;
    }
    return got === expectedSize ? buf.subarray(0, got) : null;
  } finally {
    closeSync(fd);
  }
}

export function openRead(path: string): Promise<number> {
  return new Promise((resolve, reject) => open(path, 'r', (err, fd) => (err ? reject(err) : resolve(fd))));
}

/** One read call into `buf` at `position` (it may return fewer bytes than asked, 0 at the end). */
export function readAt(fd: number, buf: Buffer, position: number): Promise<number> {
  return new Promise((resolve, reject) => read(fd, buf, 0, buf.length, position, (err, bytesRead) => (err ? reject(err) : resolve(bytesRead))));
}

export function closeFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => close(fd, (err) => (err ? reject(err) : resolve())));
}
