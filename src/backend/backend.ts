import { SinkiError } from '../errors.js';

/** Where a store's bytes live. Paths are store-relative with '/' separators ("packs/ab/abcd..."). */
export interface Backend {
  /** Human-readable location, for messages. */
  readonly location: string;
  readonly writable: boolean;
  /** The whole file; a file over `maxBytes` is refused (CORRUPT) before it is buffered. */
  read(path: string, maxBytes?: number): Promise<Buffer>;
  readRange(path: string, offset: number, length: number): Promise<Buffer>;
  /**
   * Atomic and durable: the file appears complete or not at all (temp name, fsync, rename, dir fsync).
   * `data` may come in pieces, written in order (a pack is never joined into one buffer).
   */
  write(path: string, data: Buffer | readonly Buffer[]): Promise<void>;
  /** Names of the files under a folder, recursively, relative to that folder. Missing folder: empty. */
  list(dir: string): Promise<string[]>;
  /** Size in bytes, or null when the file does not exist. */
  size(path: string): Promise<number | null>;
  remove(path: string): Promise<void>;
  /** Bytes free where the store lives (statfs), or null when unknown. */
  freeBytes(): Promise<number | null>;
  /** Releases what the backend holds open (file handles, helper processes). */
  close(): Promise<void>;
}

/** Throws CORRUPT when an object is larger than its kind can be (see Backend.read). */
export function tooLarge(path: string, size: number, maxBytes: number): void {
  if (size > maxBytes)
    throw new SinkiError('CORRUPT', `${path} is ${size} bytes, more than such a file can be (${maxBytes}): the store is damaged or was tampered with`);
}
