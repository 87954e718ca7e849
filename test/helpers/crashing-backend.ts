import { LocalBackend } from '../../src/backend/local.js';

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
