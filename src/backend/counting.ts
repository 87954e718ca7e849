import type { Backend } from './backend.js';

/** Requests a command made of its store, by kind, and the bytes they moved. */
export interface RequestCounts {
  list: number;
  /** Whole-object and ranged reads. */
  get: number;
  put: number;
  delete: number;
  /** Size look-ups (a HEAD, or a stat). */
  stat: number;
  bytesRead: number;
  bytesWritten: number;
}

export function zeroCounts(): RequestCounts {
  return { list: 0, get: 0, put: 0, delete: 0, stat: 0, bytesRead: 0, bytesWritten: 0 };
}

/**
 * Counts every request made of the backend below (a remote's bill is requests and bytes; a mount's
 * read amplification is bytes read from the store over bytes its clients read). Counts only: every
 * call goes through unchanged.
 */
export class CountingBackend implements Backend {
  readonly counts: RequestCounts = zeroCounts();

  constructor(private readonly inner: Backend) {}

  get location(): string {
    return this.inner.location;
  }

  get writable(): boolean {
    return this.inner.writable;
  }

  async read(path: string, maxBytes?: number): Promise<Buffer> {
    this.counts.get++;
    const data = await this.inner.read(path, maxBytes);
    this.counts.bytesRead += data.length;
    return data;
  }

  async readRange(path: string, offset: number, length: number): Promise<Buffer> {
    this.counts.get++;
    const data = await this.inner.readRange(path, offset, length);
    this.counts.bytesRead += data.length;
    return data;
  }

  async write(path: string, data: Buffer | readonly Buffer[]): Promise<void> {
    this.counts.put++;
    await this.inner.write(path, data);
    this.counts.bytesWritten += Buffer.isBuffer(data) ? data.length : data.reduce((n, b) => n + b.length, 0);
  }

  list(dir: string): Promise<string[]> {
    this.counts.list++;
    return this.inner.list(dir);
  }

  size(path: string): Promise<number | null> {
    this.counts.stat++;
    return this.inner.size(path);
  }

  remove(path: string): Promise<void> {
    this.counts.delete++;
    return this.inner.remove(path);
  }

  freeBytes(): Promise<number | null> {
    return this.inner.freeBytes();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
