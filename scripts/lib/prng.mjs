// prng.mjs — a small seeded PRNG (mulberry32 over a SHA-256 of the seed), so that a failing round of
// scripts/crash-suite or scripts/fuzz-formats replays with the same --seed.
import { createHash } from 'node:crypto';

/** A function returning floats in [0, 1), the same sequence for the same seed. */
export function prng(seed) {
  let a = Number.parseInt(createHash('sha256').update(String(seed)).digest('hex').slice(0, 8), 16) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [0, n). */
export const below = (random, n) => Math.floor(random() * n);
