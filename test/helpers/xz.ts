import { spawnSync } from 'node:child_process';
import { expect } from 'vitest';
import { isSinkiError } from '../../src/errors.js';

/** The xz tool (xz-utils) on `input`: its stdout, or an error with its stderr. */
export function runXz(args: readonly string[], input: Buffer): Buffer {
  const r = spawnSync('xz', args, { input, maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`xz ${args.join(' ')} failed: ${r.stderr.toString()}`);
  return r.stdout;
}

/** Fails the test unless `p` rejects with a SinkiError CORRUPT. */
export async function expectCorruptRejection(p: Promise<unknown>): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(isSinkiError(err, 'CORRUPT'), `expected SinkiError CORRUPT, got ${String(err)}`).toBe(true);
}
