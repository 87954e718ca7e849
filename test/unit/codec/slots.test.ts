import { describe, expect, it } from 'vitest';
import { Slots } from '../../../src/codec/slots.js';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('Slots', () => {
  it('never runs more tasks at once than it has slots, and runs them all', async () => {
    const slots = new Slots(3);
    let running = 0;
    let most = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        slots.run(async () => {
          running += 1;
          most = Math.max(most, running);
          for (let t = 0; t < (i % 4) + 1; t++) await tick();
          running -= 1;
          order.push(i);
        }),
      ),
    );
    expect(most).toBe(3);
    expect(order.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(slots.busy).toBe(0);
    expect(slots.queued).toBe(0);
  });

  it('frees the slot when a task fails', async () => {
    const slots = new Slots(1);
    await expect(slots.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(slots.run(async () => 'next')).resolves.toBe('next');
    expect(slots.busy).toBe(0);
  });

  it('hands a freed slot to the longest waiter first', async () => {
    const slots = new Slots(1);
    await slots.acquire();
    const got: string[] = [];
    const a = slots.acquire().then(() => got.push('a'));
    const b = slots.acquire().then(() => got.push('b'));
    slots.release();
    await a;
    slots.release();
    await b;
    expect(got).toEqual(['a', 'b']);
  });

  it('refuses a size that is not a positive integer', () => {
    expect(() => new Slots(0)).toThrow(RangeError);
    expect(() => new Slots(1.5)).toThrow(RangeError);
  });
});
