/**
 * A commit works through every dirty chunk and every entry of a changed folder under the mutex, in
 * awaits that resolve at once: without a turn of the event loop nothing else runs meanwhile, not
 * even the operations that do not take the mutex (getattr, readdir, read). Long loops call this
 * every `every` steps so that those get their turn.
 */
export class ReaderTurns {
  private steps = 0;

  constructor(private readonly every: number) {}

  async step(): Promise<void> {
    if (++this.steps % this.every === 0) await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
