/*
 * forget --keep-last 1 --prune, then push --delete to a real rclone remote (a local-path remote):
 * the remote ends up holding exactly the store's files (the packs prune dropped are gone there too),
 * checks clean with --read-data and restores the kept snapshot byte-identical. The same push --delete
 * killed (SIGKILL to sinki and its rclone together) at each of its visible steps — the first new pack
 * arriving, all new packs up, the new index in place, SHA256SUMS replaced, the forgotten snapshots,
 * the old index and the dropped packs being deleted — leaves a remote that is a consistent store, and
 * a re-run completes it.
 *
 * The kill moments are states of the remote, not times: the remote folder is watched and the push is
 * killed as soon as the state is seen (the push may get a little further before the kill lands; it
 * may even finish, which the figures count apart).
 */
import { promises as fs, readdirSync, readFileSync, statSync, type Dirent } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, filesBelow, KiB, randomData, RemoteLab, run, sha256 } from '../remote/harness.js';
import { diffManifests, manifestOf, type Manifest } from './helpers.js';

let lab: RemoteLab;
let store: string;
let src: string;
/** The remote as the last push before forget left it (three snapshots); each interrupted push starts from a copy. */
let remoteBefore: string;
/** Snapshot id → what it must restore to. */
const expected = new Map<string, Manifest>();
let kept = '';
let droppedPacks: string[] = [];
let repackedPacks: string[] = [];

const packsOf = async (root: string): Promise<string[]> => (await filesBelow(root)).filter((f) => /^packs\/[0-9a-f]{2}\/[0-9a-f]{64}$/.test(f));

/**
 * What a push mirrors: every file of the store but locks, temp files and generations (the remote
 * gets generations of its own, sealed by the push: docs/STORE-FORMAT.md, "Generations").
 */
async function mirroredFiles(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const f of await filesBelow(root)) {
    if (f.startsWith('locks/') || f.startsWith('gen/') || f.split('/').some((part) => part.startsWith('.tmp-'))) continue;
    out.set(f, sha256(await fs.readFile(join(root, f))));
  }
  return out;
}

/** Every file of a remote but its generations (see remoteGenerations). */
async function allFiles(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const f of await filesBelow(root)) if (!f.startsWith('gen/')) out.set(f, sha256(await fs.readFile(join(root, f))));
  return out;
}

const remoteGenerations = async (root: string): Promise<string[]> => (await filesBelow(root)).filter((f) => f.startsWith('gen/'));

/** A folder's copy (a remote state to start again from). */
async function copyTree(from: string, to: string): Promise<void> {
  await fs.rm(to, { recursive: true, force: true });
  const r = await run('cp', ['-a', from, to]);
  if (r.code !== 0) throw new Error(`cp -a failed: ${r.stderr}`);
}

/**
 * The remote read as a store through rclone: check --read-data has no error line, every snapshot it
 * lists restores byte-identical to its manifest, and `mustHave` is among them. Returns problem lines.
 */
async function remoteProblems(remoteDir: string, label: string, mustHave: string[]): Promise<string[]> {
  const location = `rclone:l:${remoteDir}`;
  const problems: string[] = [];
  const check = await lab.sinki(['check', '--read-data'], { store: location });
  const errors = check.stderr.split('\n').filter((l) => l && !l.startsWith('note: '));
  if (check.code !== 0 || errors.length) problems.push(`${label}: check --read-data exited ${check.code}: ${errors.join(' | ')}`);
  const list = await lab.sinki(['snapshots', '--json'], { store: location });
  if (list.code !== 0) return [...problems, `${label}: snapshots exited ${list.code}: ${list.stderr.trim()}`];
  const ids = (JSON.parse(list.stdout) as Array<{ id: string }>).map((s) => s.id);
  for (const id of mustHave) if (!ids.includes(id)) problems.push(`${label}: snapshot ${id.slice(0, 12)} is missing`);
  for (const id of ids) {
    const manifest = expected.get(id);
    if (!manifest) {
      problems.push(`${label}: unknown snapshot ${id.slice(0, 12)}`);
      continue;
    }
    const target = join(lab.root, `restore-${label.replace(/\W+/g, '-')}-${id.slice(0, 8)}`);
    const r = await lab.sinki(['restore', id, target], { store: location });
    if (r.code !== 0) problems.push(`${label}: restore ${id.slice(0, 12)} exited ${r.code}: ${r.stderr.trim()}`);
    else problems.push(...diffManifests(manifest, manifestOf(target)).map((d: string) => `${label}: snapshot ${id.slice(0, 12)}: ${d}`));
    await fs.rm(target, { recursive: true, force: true });
  }
  return problems;
}

/** Relative path → size of every file below root (a remote state to test a kill moment against). */
function remoteState(root: string): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (rel: string): void => {
    let entries: Dirent[];
    try {
      entries = readdirSync(rel ? join(root, rel) : root, { withFileTypes: true });
    } catch {
      return; // a folder removed while being read
    }
    for (const e of entries) {
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(child);
      else {
        try {
          out.set(child, statSync(join(root, child)).size);
        } catch {
          // removed meanwhile
        }
      }
    }
  };
  walk('');
  return out;
}

function sameBytes(a: string, b: string): boolean {
  try {
    return readFileSync(a).equals(readFileSync(b));
  } catch {
    return false; // being replaced
  }
}

/**
 * `sinki push REMOTE --delete` in a process group of its own, SIGKILLed (the group: sinki and its
 * rclone) as soon as `moment` holds of the remote's files. `killed` says whether it was still running.
 */
async function pushKilledWhen(
  remoteDir: string,
  moment: (state: Map<string, number>) => boolean,
): Promise<{ killed: boolean; result: { code: number | null; signal: NodeJS.Signals | null; stderr: string } }> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...lab.env };
  delete env.SINKI_STORE;
  const child = spawn(process.execPath, [CLI, '-s', store, 'push', `l:${remoteDir}`, '--delete'], { env, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stderr })),
  );
  let running = true;
  void exited.then(() => (running = false));
  const killGroup = (): void => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  let killed = false;
  while (running) {
    if (moment(remoteState(remoteDir))) {
      killed = running;
      killGroup();
      break;
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  const result = await exited;
  killGroup(); // nothing of the group lives on (an rclone started apart from sinki)
  return { killed: killed && result.signal === 'SIGKILL', result };
}

async function backup(): Promise<string> {
  const before = new Set((await lab.sinkiOk(['snapshots', '--json'], { store })).stdout.match(/[0-9a-f]{64}/g) ?? []);
  const manifest = manifestOf(src, 'src');
  await lab.sinkiOk(['backup', src], { store });
  const ids = JSON.parse((await lab.sinkiOk(['snapshots', '--json'], { store })).stdout) as Array<{ id: string }>;
  const fresh = ids.filter((s) => !before.has(s.id));
  expect(fresh).toHaveLength(1);
  expected.set(fresh[0]!.id, manifest);
  return fresh[0]!.id;
}

beforeAll(async () => {
  lab = await RemoteLab.create('forget-push');
  store = await lab.store('store', ['--pack-size', '1M']);
  src = await lab.dir('src');
  // Three backups whose blobs share packs (1 MiB packs), so that forgetting two leaves packs partly used.
  for (const name of ['a', 'b', 'c']) await fs.writeFile(join(src, `${name}.jpg`), randomData(`fp-${name}`, 400 * KiB));
  await fs.writeFile(join(src, 'notes.txt'), 'the first version\n'.repeat(2000));
  await backup();
  await fs.writeFile(join(src, 'b.jpg'), randomData('fp-b2', 400 * KiB));
  await fs.writeFile(join(src, 'd.jpg'), randomData('fp-d', 300 * KiB));
  await backup();
  await fs.rm(join(src, 'a.jpg'));
  await fs.writeFile(join(src, 'e.jpg'), randomData('fp-e', 300 * KiB));
  await fs.writeFile(join(src, 'notes.txt'), 'the third version\n'.repeat(3000));
  kept = await backup();

  const remote = join(lab.root, 'remote');
  await lab.sinkiOk(['push', `l:${remote}`], { store });
  remoteBefore = join(lab.root, 'remote-before');
  await copyTree(remote, remoteBefore);
  const packsBefore = await packsOf(store);

  const forget = await lab.sinkiOk(['forget', '--keep-last', '1', '--prune', '--max-unused', '0'], { store });
  const packsAfter = await packsOf(store);
  droppedPacks = packsBefore.filter((p) => !packsAfter.includes(p));
  repackedPacks = packsAfter.filter((p) => !packsBefore.includes(p));
  // The scenario only means something if prune both dropped packs and wrote new ones (repacked the kept snapshot's blobs).
  expect({ dropped: droppedPacks.length > 0, repacked: repackedPacks.length > 0, out: forget.stdout.length > 0 }).toEqual({
    dropped: true,
    repacked: true,
    out: true,
  });
  const snaps = JSON.parse((await lab.sinkiOk(['snapshots', '--json'], { store })).stdout) as Array<{ id: string }>;
  expect(snaps.map((s) => s.id)).toEqual([kept]);
  const local = await lab.sinki(['check', '--read-data'], { store });
  expect({ code: local.code, errors: local.stderr.split('\n').filter((l) => l && !l.startsWith('note: ')) }).toEqual({ code: 0, errors: [] });
}, 300_000);

afterAll(async () => {
  await lab?.close();
});

describe('forget --keep-last 1 --prune, then push --delete to an rclone remote', () => {
  it("leaves on the remote exactly the store's files; it checks clean and restores the kept snapshot", { timeout: 300_000 }, async () => {
    const remote = join(lab.root, 'remote');
    expect(await remoteProblems(remote, 'before', [kept])).toEqual([]);
    await lab.sinkiOk(['push', `l:${remote}`, '--delete'], { store });

    const remoteFiles = await allFiles(remote);
    expect([...remoteFiles].sort()).toEqual([...(await mirroredFiles(store))].sort());
    expect(await remoteGenerations(remote)).toHaveLength(1);
    for (const p of droppedPacks) expect(remoteFiles.has(p), `${p} (dropped by prune) is still on the remote`).toBe(false);
    for (const p of repackedPacks) expect(remoteFiles.has(p), `${p} (written by prune) is not on the remote`).toBe(true);
    expect(await remoteProblems(remote, 'after', [kept])).toEqual([]);
    const snaps = JSON.parse((await lab.sinkiOk(['snapshots', '--json'], { store: `rclone:l:${remote}` })).stdout) as Array<{ id: string }>;
    expect(snaps.map((s) => s.id)).toEqual([kept]);
  });

  it('killed at each of its steps, it leaves the remote a consistent store; a re-run completes it', { timeout: 1_200_000 }, async () => {
    const before = await allFiles(remoteBefore);
    const local = await mirroredFiles(store);
    const only = (a: Map<string, string>, b: Map<string, string>, dir: string): string[] => [...a.keys()].filter((p) => p.startsWith(`${dir}/`) && !b.has(p));
    const newPacks = only(local, before, 'packs');
    const newIndex = only(local, before, 'index');
    const oldIndex = only(before, local, 'index');
    const oldSnapshots = only(before, local, 'snapshots');
    const dropped = only(before, local, 'packs');
    expect({
      newPacks: newPacks.length > 0,
      newIndex: newIndex.length > 0,
      oldIndex: oldIndex.length > 0,
      oldSnapshots: oldSnapshots.length,
      dropped: dropped.length > 1,
    }).toEqual({ newPacks: true, newIndex: true, oldIndex: true, oldSnapshots: 2, dropped: true });
    const localSize = new Map<string, number>();
    for (const p of local.keys()) localSize.set(p, (await fs.stat(join(store, p))).size);
    const gone = (state: Map<string, number>, paths: string[]): number => paths.filter((p) => !state.has(p)).length;
    expect(before.get('SHA256SUMS')).not.toBe(local.get('SHA256SUMS'));
    const moments: Array<[string, (state: Map<string, number>) => boolean]> = [
      ['a new pack starts to arrive', (st) => [...st.keys()].some((p) => p.startsWith('packs/') && !before.has(p))],
      ['every new pack is up', (st) => newPacks.every((p) => st.get(p) === localSize.get(p))],
      ['the new index is in place', (st) => newIndex.some((p) => st.has(p))],
      ['SHA256SUMS is replaced', () => sameBytes(join(remote, 'SHA256SUMS'), join(store, 'SHA256SUMS'))],
      ['a forgotten snapshot is deleted', (st) => gone(st, oldSnapshots) >= 1],
      ['both forgotten snapshots are deleted', (st) => gone(st, oldSnapshots) === oldSnapshots.length],
      ['an old index segment is deleted', (st) => gone(st, oldIndex) >= 1],
      ['a dropped pack is deleted', (st) => gone(st, dropped) >= 1],
      ['half the dropped packs are deleted', (st) => gone(st, dropped) >= dropped.length / 2],
    ];
    const problems: string[] = [];
    const outcomes: string[] = [];
    let remote = '';
    for (const [i, [label, moment]] of moments.entries()) {
      // A folder of its own per moment: putting the old remote back where a re-run pushed the new
      // state would be a rollback, which this machine remembers (docs/STORE-FORMAT.md, "Generations").
      remote = join(lab.root, `remote-killed-${i}`);
      await copyTree(remoteBefore, remote);
      const { killed, result } = await pushKilledWhen(remote, moment);
      if (!killed && result.code !== 0) problems.push(`${label}: the push failed on its own (exit ${result.code}): ${result.stderr.trim()}`);
      outcomes.push(`${label}: ${killed ? 'killed' : 'finished first'}`);
      problems.push(...(await remoteProblems(remote, `killed when ${label}`, [kept])));
      // The re-run (uninterrupted) mirrors the store exactly, clearing what the killed push left.
      const rerun = await lab.sinki(['push', `l:${remote}`, '--delete'], { store });
      if (rerun.code !== 0) problems.push(`${label}: the re-run exited ${rerun.code}: ${rerun.stderr.trim()}`);
      const diff = diffManifests(await mirroredFiles(store), await allFiles(remote));
      problems.push(...diff.map((d: string) => `killed when ${label}, then a re-run: remote ${d}`));
      const gens = await remoteGenerations(remote);
      if (gens.length !== 1) problems.push(`killed when ${label}, then a re-run: the remote has ${gens.length} generations`);
    }
    console.log(`push --delete killed at ${moments.length} moments:\n  ${outcomes.join('\n  ')}`);
    // The last re-run's remote is also read back as a store.
    problems.push(...(await remoteProblems(remote, 'after the last re-run', [kept])));
    expect(problems).toEqual([]);
    // Most kills must land while the push runs, or this proves little (the first moments are long before its end).
    expect(outcomes.filter((o) => o.endsWith('killed')).length, outcomes.join('\n')).toBeGreaterThanOrEqual(moments.length / 2);
  });
});
