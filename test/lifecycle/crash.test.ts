import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from '../helpers/temp.js';
import { CrashSuite, runCrashRounds } from '../../scripts/lib/crash-rounds.mjs';
import { hasFuse } from './helpers.js';

/**
 * A short run of scripts/crash-suite (see scripts/lib/crash-rounds.mjs): each operation once (backup,
 * mount writes, prune, push, `sinki snapshot` unmounted and answered by a mount), killed with SIGKILL
 * at a seeded random moment; after each round the store checks clean (--read-data),
 * every snapshot restores byte-identical to its source, fsynced mount files survive a remount, and
 * the locks the killed processes left block nothing.
 */
const OPS = hasFuse ? ['backup', 'mount', 'prune', 'push', 'snapshot', 'mount-snapshot'] : ['backup', 'prune', 'push'];
const ROUNDS = Number(process.env.SINKI_CRASH_ROUNDS ?? OPS.length);
const SEED = process.env.SINKI_CRASH_SEED ?? 'lifecycle-test';

describe('crash rounds: kill -9 at random moments loses nothing committed', () => {
  let suite: CrashSuite | null = null;

  afterAll(async () => {
    await suite?.cleanup();
    await removeTempDirs();
  });

  it(`${ROUNDS} rounds of ${OPS.join(', ')} (seed ${SEED})`, { timeout: 600_000 }, async () => {
    const lines: string[] = [];
    suite = new CrashSuite({ workdir: await tempDir('crash'), seed: SEED, size: '2M', log: (l: string) => lines.push(l) });
    await suite.setup();
    const report = await runCrashRounds({ suite, rounds: ROUNDS, ops: OPS });
    expect(report.failures.map((f: { round: number; op: string; problems: string[] }) => `round ${f.round} (${f.op}): ${f.problems.join('; ')}`)).toEqual([]);
    // Whatever the kills left, `sinki unlock` clears it all (nothing else holds the store now).
    expect((await suite.finalUnlock()).left).toEqual([]);
    expect(lines).toHaveLength(ROUNDS);
  });
});
