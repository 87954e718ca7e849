import { createCipheriv, createHash } from 'node:crypto';
import { promises as fs, type Stats } from 'node:fs';
import { join } from 'node:path';

/** Deterministic incompressible bytes (AES-128-CTR keystream of a seed). */
export function pseudoRandomBytes(seed: string, length: number): Buffer {
  const key = createHash('sha256').update(`sinki-test-${seed}`).digest();
  const cipher = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
  return Buffer.concat([cipher.update(Buffer.alloc(length)), cipher.final()]);
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function sha256File(path: string): Promise<string> {
  return sha256(await fs.readFile(path));
}

export interface Entry {
  /** Relative to the walked root, '/'-separated. */
  rel: string;
  abs: string;
  stat: Stats;
}

/** Every entry below root (not root itself), depth-first, sorted by name; symlinks are not followed. */
export async function walk(root: string): Promise<Entry[]> {
  const out: Entry[] = [];
  const visit = async (rel: string): Promise<void> => {
    const names = (await fs.readdir(rel ? join(root, rel) : root)).sort();
    for (const name of names) {
      const childRel = rel ? `${rel}/${name}` : name;
      const abs = join(root, childRel);
      const stat = await fs.lstat(abs);
      out.push({ rel: childRel, abs, stat });
      if (stat.isDirectory()) await visit(childRel);
    }
  };
  await visit('');
  return out;
}

/** Pack files under a store: store-relative paths "packs/ab/<sha256>". */
export async function listPacks(store: string): Promise<string[]> {
  return (await walk(join(store, 'packs'))).filter((e) => e.stat.isFile()).map((e) => `packs/${e.rel}`);
}

export const packName = (packRel: string): string => packRel.split('/').at(-1)!;

export interface EntryFacts {
  type: 'file' | 'dir' | 'symlink' | 'other';
  mode: number;
  uid: number;
  gid: number;
  /** Whole seconds: what every filesystem keeps. */
  mtime: number;
  size?: number;
  sha256?: string;
  target?: string;
}

export async function entryFacts(abs: string, stat: Stats): Promise<EntryFacts> {
  const type = stat.isFile() ? 'file' : stat.isDirectory() ? 'dir' : stat.isSymbolicLink() ? 'symlink' : 'other';
  const facts: EntryFacts = { type, mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid, mtime: Math.floor(stat.mtimeMs / 1000) };
  if (type === 'file') {
    facts.size = stat.size;
    facts.sha256 = await sha256File(abs);
  }
  if (type === 'symlink') {
    facts.target = await fs.readlink(abs);
    delete (facts as Partial<EntryFacts>).mode; // a symlink's mode is not meaningful on Linux
  }
  return facts;
}

/** rel path → facts, for the root itself ('.') and everything below it. */
export async function treeFacts(root: string): Promise<Record<string, EntryFacts>> {
  const out: Record<string, EntryFacts> = { '.': await entryFacts(root, await fs.lstat(root)) };
  for (const e of await walk(root)) out[e.rel] = await entryFacts(e.abs, e.stat);
  return out;
}

/** Sets a file's, directory's or symlink's times without following links. */
export async function setMtime(path: string, date: Date): Promise<void> {
  await fs.lutimes(path, date, date);
}

/** Byte-for-byte equality, reported as length and SHA-256 (vitest's deep equality on MiB-sized Buffers takes seconds). */
export function bytesDigest(data: Buffer): { length: number; sha256: string } {
  return { length: data.length, sha256: sha256(data) };
}

/** Every regular file below root, relative, '/'-separated (`.tmp-` names included). */
export async function filesBelow(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const entries = await fs.readdir(rel ? join(root, rel) : root, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(child);
      else if (e.isFile()) out.push(child);
    }
  };
  await walk('');
  return out.sort();
}

export async function bytesBelow(root: string): Promise<number> {
  let total = 0;
  for (const f of await filesBelow(root)) total += (await fs.stat(join(root, f))).size;
  return total;
}

/** Bytes of every pack of a store (what freeing space and compression show in). */
export function packBytes(store: string): Promise<number> {
  return bytesBelow(join(store, 'packs'));
}
