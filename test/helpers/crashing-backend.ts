import { promises as fs } from 'node:fs';
import { expect } from 'vitest';
import { LocalBackend } from '../../src/backend/local.js';
import { Repository } from '../../src/repo/repository.js';

/** A local backend that fails its `crashAt`-th write or remove (and every one after): a kill at that step. */
export class CrashingBackend extends LocalBackend {
  private steps = 0;
  constructor(
    location: string,
    private readonly crashAt: number,
  ) {
    super(location);
  }
  private step(): void {
    if (++this.steps >= this.crashAt) throw new Error(`crash at step ${this.crashAt}`);
  }
  override async write(path: string, data: Buffer | readonly Buffer[]): Promise<void> {
    this.step();
    await super.write(path, data);
  }
  override async remove(path: string): Promise<void> {
    this.step();
    await super.remove(path);
  }
}

/**
 * Runs `work` on a copy of the closed store at `dir` that crashes at its 1st, 2nd, 3rd… write or
 * remove, until a run completes; after each run `verify` gets the store reopened as it was left (and
 * whether the run completed), then it is closed. Returns the number of runs (crash points + 1).
 */
export async function crashAtEveryStep(
  dir: string,
  password: Buffer,
  work: (session: Repository) => Promise<void>,
  verify: (after: Repository, completed: boolean) => Promise<void>,
): Promise<number> {
  const pristine = `${dir}-pristine`;
  await fs.cp(dir, pristine, { recursive: true });
  let completed = false;
  let crashAt = 0;
  while (!completed) {
    crashAt += 1;
    expect(crashAt).toBeLessThan(200);
    const copy = `${dir}-crash-${crashAt}`;
    await fs.cp(pristine, copy, { recursive: true });
    const session = await Repository.open(new CrashingBackend(copy, crashAt), password);
    try {
      await work(session);
      completed = true;
    } catch (err) {
      expect((err as Error).message).toMatch(/crash at step/);
    }
    await session.backend.close();
    const after = await Repository.open(new LocalBackend(copy), password);
    await verify(after, completed);
    await after.backend.close();
  }
  return crashAt;
}
