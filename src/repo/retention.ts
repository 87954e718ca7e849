import type { StoredSnapshot } from './snapshot.js';

/** Which snapshots `forget` keeps: a snapshot stays if any rule keeps it. */
export interface RetentionPolicy {
  last?: number;
  hourly?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
  yearly?: number;
  /** Keep everything newer than this many milliseconds before the group's newest snapshot. */
  withinMs?: number;
  tags?: string[];
}

export interface RetentionDecision {
  snapshot: StoredSnapshot;
  keep: boolean;
  /** Why it is kept, e.g. ["last", "daily"]. */
  reasons: string[];
}

export function policyIsEmpty(p: RetentionPolicy): boolean {
  return !p.last && !p.hourly && !p.daily && !p.weekly && !p.monthly && !p.yearly && !p.withinMs && !p.tags?.length;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** ISO-8601 week: the year that owns the week, and its number. */
function isoWeek(d: Date): string {
  const t = new Date(Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()));
  const day = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - day);
  const yearStart = Date.UTC(t.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((t.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${t.getUTCFullYear()}-W${pad(week)}`;
}

/** Calendar buckets in local time, as `restic forget` uses them. */
const BUCKETS: ReadonlyArray<[keyof RetentionPolicy & string, (d: Date) => string]> = [
  ['hourly', (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}`],
  ['daily', (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`],
  ['weekly', isoWeek],
  ['monthly', (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}`],
  ['yearly', (d) => `${d.getFullYear()}`],
];

/** Snapshots are grouped by host and paths; each group is judged on its own. */
export function groupKey(s: StoredSnapshot): string {
  return `${s.host}\0${[...s.paths].sort().join('\0')}`;
}

/** Decides one group: newest first, each bucket rule keeps the newest snapshot of each of its newest N buckets. */
export function applyPolicy(snapshots: readonly StoredSnapshot[], policy: RetentionPolicy): RetentionDecision[] {
  const sorted = [...snapshots].sort((a, b) => b.time.localeCompare(a.time) || b.id.localeCompare(a.id));
  const newest = sorted[0] ? Date.parse(sorted[0].time) : 0;
  const remaining = new Map<string, number>(BUCKETS.map(([name]) => [name, (policy[name] as number | undefined) ?? 0]));
  const lastBucket = new Map<string, string>();
  const last = policy.last ?? 0;
  return sorted.map((snapshot, i) => {
    const reasons: string[] = [];
    const date = new Date(snapshot.time);
    if (i < last) reasons.push('last');
    for (const [name, bucketOf] of BUCKETS) {
      const left = remaining.get(name)!;
      if (left <= 0) continue;
      const bucket = bucketOf(date);
      if (lastBucket.get(name) !== bucket) {
        lastBucket.set(name, bucket);
        remaining.set(name, left - 1);
        reasons.push(name);
      }
    }
    if (policy.withinMs !== undefined && newest - Date.parse(snapshot.time) <= policy.withinMs) reasons.push('within');
    if (policy.tags?.some((t) => snapshot.tags.includes(t))) reasons.push('tag');
    return { snapshot, keep: reasons.length > 0, reasons };
  });
}

export function applyPolicyGrouped(snapshots: readonly StoredSnapshot[], policy: RetentionPolicy): Map<string, RetentionDecision[]> {
  const groups = new Map<string, StoredSnapshot[]>();
  for (const s of snapshots) {
    const key = groupKey(s);
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  return new Map([...groups].map(([k, g]) => [k, applyPolicy(g, policy)]));
}
