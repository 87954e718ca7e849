import { LRUCache } from 'lru-cache';
import type { BlobLoader } from '../repo/interfaces.js';
import { BlobKind } from '../repo/pack-format.js';

/** Byte-bounded LRU of verified plaintext chunks; concurrent loads of one chunk share one fetch. */
export class ChunkCache {
  private readonly lru: LRUCache<string, Buffer>;
  private readonly loading = new Map<string, Promise<Buffer>>();

  constructor(
    private readonly repo: BlobLoader,
    maxBytes: number,
  ) {
    this.lru = new LRUCache<string, Buffer>({ maxSize: Math.max(1, maxBytes), sizeCalculation: (b) => Math.max(1, b.length) });
  }

  get(id: string): Promise<Buffer> {
    const hit = this.lru.get(id);
    if (hit) return Promise.resolve(hit);
    let p = this.loading.get(id);
    if (!p) {
      p = this.repo.loadBlob(id, BlobKind.Data).then(
        (buf) => {
          this.loading.delete(id);
          this.lru.set(id, buf);
          return buf;
        },
        (err: unknown) => {
          this.loading.delete(id);
          throw err;
        },
      );
      this.loading.set(id, p);
    }
    return p;
  }

  /** Read-ahead: start loading, ignore the outcome (a later get() reports any error). */
  prefetch(id: string): void {
    if (!this.lru.has(id) && !this.loading.has(id)) this.get(id).catch(() => undefined);
  }
}
