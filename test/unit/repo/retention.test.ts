import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { applyPolicy, applyPolicyGrouped, policyIsEmpty } from '../../../src/repo/retention.js';
import type { StoredSnapshot } from '../../../src/repo/snapshot.js';

beforeAll(() => {
  process.env.TZ = 'UTC';
});

let n = 0;
const snap = (time: string, extra: Partial<StoredSnapshot> = {}): StoredSnapshot => ({
  id: (++n).toString(16).padStart(64, '0'),
  time,
  host: 'h',
  username: 'u',
  paths: ['/data'],
  tags: [],
  tree: 't',
  ...extra,
});
const kept = (snaps: StoredSnapshot[], policy: Parameters<typeof applyPolicy>[1]): string[] =>
  applyPolicy(snaps, policy)
    .filter((d) => d.keep)
    .map((d) => d.snapshot.time)
    .sort();

describe('retention policy', () => {
  // Two snapshots a day for ten days in January 2026, at 06:00 and 18:00 UTC.
  const days = Array.from({ length: 10 }, (_, i) => [
    snap(`2026-01-${String(i + 1).padStart(2, '0')}T06:00:00.000Z`),
    snap(`2026-01-${String(i + 1).padStart(2, '0')}T18:00:00.000Z`),
  ]).flat();

  it('keep-last keeps the newest N', () => {
    expect(kept(days, { last: 3 })).toEqual(['2026-01-09T18:00:00.000Z', '2026-01-10T06:00:00.000Z', '2026-01-10T18:00:00.000Z']);
  });

  it('keep-daily keeps the newest snapshot of each of the newest N days', () => {
    expect(kept(days, { daily: 3 })).toEqual(['2026-01-08T18:00:00.000Z', '2026-01-09T18:00:00.000Z', '2026-01-10T18:00:00.000Z']);
  });

  it('keep-weekly uses ISO weeks (Jan 4 2026 is a Sunday; Jan 5 starts week 2)', () => {
    expect(kept(days, { weekly: 2 })).toEqual(['2026-01-04T18:00:00.000Z', '2026-01-10T18:00:00.000Z']);
  });

  it('keep-monthly and keep-yearly across years', () => {
    const spread = [
      snap('2024-05-01T00:00:00Z'),
      snap('2024-12-31T12:00:00Z'),
      snap('2025-03-01T00:00:00Z'),
      snap('2025-03-20T00:00:00Z'),
      snap('2026-01-02T00:00:00Z'),
    ];
    expect(kept(spread, { monthly: 2 })).toEqual(['2025-03-20T00:00:00Z', '2026-01-02T00:00:00Z']);
    expect(kept(spread, { yearly: 5 })).toEqual(['2024-12-31T12:00:00Z', '2025-03-20T00:00:00Z', '2026-01-02T00:00:00Z']);
  });

  it('keep-within is relative to the newest snapshot, keep-tag keeps tagged ones; rules add up', () => {
    const tagged = snap('2025-06-01T00:00:00Z', { tags: ['important'] });
    const all = [...days, tagged];
    expect(kept(all, { withinMs: 24 * 3600 * 1000 })).toEqual(['2026-01-09T18:00:00.000Z', '2026-01-10T06:00:00.000Z', '2026-01-10T18:00:00.000Z']);
    expect(kept(all, { tags: ['important'], last: 1 })).toEqual(['2025-06-01T00:00:00Z', '2026-01-10T18:00:00.000Z']);
    const reasons = applyPolicy(all, { last: 1, daily: 1 }).find((d) => d.keep)!.reasons;
    expect(reasons).toEqual(['last', 'daily']);
  });

  it('groups by host and paths', () => {
    const a = snap('2026-01-01T00:00:00Z', { host: 'a' });
    const b = snap('2026-01-01T00:00:00Z', { host: 'b' });
    const a2 = snap('2026-01-02T00:00:00Z', { host: 'a' });
    const groups = applyPolicyGrouped([a, b, a2], { last: 1 });
    expect(groups.size).toBe(2);
    const keptIds = [...groups.values()]
      .flat()
      .filter((d) => d.keep)
      .map((d) => d.snapshot.id);
    expect(keptIds.sort()).toEqual([a2.id, b.id].sort());
  });

  it('an empty policy is recognised (forget refuses it)', () => {
    expect(policyIsEmpty({})).toBe(true);
    expect(policyIsEmpty({ tags: [] })).toBe(true);
    expect(policyIsEmpty({ daily: 1 })).toBe(false);
  });

  it('properties: the newest snapshot is kept by any non-empty bucket rule; kept count is bounded by the rule counts', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2026, 0, 1) }), { minLength: 1, maxLength: 40 }),
        fc.record({ last: fc.nat(5), hourly: fc.nat(5), daily: fc.nat(5), weekly: fc.nat(5), monthly: fc.nat(5), yearly: fc.nat(5) }),
        (times, policy) => {
          const snaps = times.map((t) => snap(new Date(t).toISOString()));
          const decisions = applyPolicy(snaps, policy);
          const total = Object.values(policy).reduce((a, b) => a + b, 0);
          expect(decisions.filter((d) => d.keep).length).toBeLessThanOrEqual(total);
          if (total > 0) expect(decisions[0]!.keep).toBe(true);
          expect(decisions.length).toBe(snaps.length);
        },
      ),
    );
  });
});
