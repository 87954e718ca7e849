import { SinkiError } from '../errors.js';

/**
 * `check --read-data-subset`: "x/y" reads the x-th of y fixed groups of packs (run 1/7 … 7/7 on
 * seven days to read everything once a week); "N%" reads a random N% of the packs.
 */
export function subsetSelector(spec: string, random: () => number = Math.random): (packId: string) => boolean {
  const group = /^(\d+)\/(\d+)$/.exec(spec.trim());
  if (group) {
    const x = Number(group[1]);
    const y = Number(group[2]);
    if (y < 1 || x < 1 || x > y) throw new SinkiError('USAGE', `--read-data-subset ${spec}: x/y needs 1 ≤ x ≤ y`);
    return (packId) => parseInt(packId.slice(0, 8), 16) % y === x - 1;
  }
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(spec.trim());
  if (pct) {
    const share = Number(pct[1]) / 100;
    if (share <= 0 || share > 1) throw new SinkiError('USAGE', `--read-data-subset ${spec}: a percentage from 0 to 100`);
    return () => random() < share;
  }
  throw new SinkiError('USAGE', `--read-data-subset ${spec}: give x/y (e.g. 2/7) or a percentage (e.g. 10%)`);
}
