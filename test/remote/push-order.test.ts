/*
 * The remote is a consistent store at every moment of a push: a push killed half-way leaves a
 * remote that still opens and checks clean, a re-run sends only what is missing, an observer that
 * samples the remote during a slow push never sees a half-sent index or snapshot nor an index
 * before its packs, and a backup running during a push never leaves the remote referring to packs
 * it does not have.
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesBelow, filesBelow, jsonLine, KiB, MiB, randomData, RemoteLab, sha256, waitFor, CLI, type PushSummary } from './harness.js';

let lab: RemoteLab;

beforeAll(async () => {
  lab = await RemoteLab.create('order');
  await lab.webdav('w');
});

afterAll(async () => {
  await lab?.close();
});

/** Writes `count` incompressible files of `size` bytes (.jpg: stored without xz, so backups are quick). */
async function addFiles(dir: string, prefix: string, count: number, size: number): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  for (let i = 0; i < count; i++) await fs.writeFile(join(dir, `${prefix}-${i}.jpg`), randomData(`${prefix}-${i}`, size));
}

/** `sinki push` as its own process group, with its --json lines as they come. */
function startPush(store: string, remote: string, args: string[]): { pgid: number; lines: string[]; stderr: () => string; done: Promise<number> } {
  const child = spawn(process.execPath, [CLI, '-s', store, 'push', remote, ...args, '--json'], {
    env: { ...process.env, ...lab.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const lines: string[] = [];
  let partial = '';
  child.stdout.on('data', (d: Buffer) => {
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<number>((res) => child.on('close', (code, signal) => res(code ?? (signal ? 128 : -1))));
  return { pgid: child.pid!, lines, stderr: () => stderr, done };
}

const checkLines = (out: string): string[] => out.split('\n').filter((l) => l && !l.startsWith('note: ') && !l.startsWith('no errors were found'));

describe.concurrent('the remote stays a consistent store', () => {
  it('a push killed half-way leaves a remote that opens with its old snapshot and checks clean; the re-run sends only what is missing and verifies', async () => {
    const store = await lab.store('killed', ['--pack-size', '1M']);
    const src = await lab.dir('killed-src');
    await addFiles(join(src, 'a'), 'a', 3, 512 * KiB);
    await lab.sinkiOk(['backup', src], { store });
    const remote = 'w:killed';
    await lab.sinkiOk(['push', remote], { store });
    const remoteStore = `rclone:${remote}`;
    const cache = ['--cache-dir', join(lab.root, 'cache-killed')];

    await addFiles(join(src, 'b'), 'b', 4, 512 * KiB);
    await lab.sinkiOk(['backup', src], { store });
    const storeBytes = await bytesBelow(store);

    // SIGKILL the whole push (sinki and its rclone) once it is sending packs.
    const p = startPush(store, remote, ['--bwlimit', '200k']);
    await waitFor('the packs phase', () => p.lines.some((l) => l.includes('"phase":"packs"')) || Boolean(p.stderr()), 30_000);
    expect(p.stderr()).toBe('');
    await new Promise((r) => setTimeout(r, 1000));
    process.kill(-p.pgid, 'SIGKILL');
    await p.done;

    const snaps = await lab.sinki([...cache, 'snapshots', '--json'], { store: remoteStore });
    expect({ code: snaps.code, stderr: snaps.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(snaps.stdout)).toHaveLength(1);
    const check = await lab.sinki([...cache, 'check', '--read-data'], { store: remoteStore });
    expect({ code: check.code, errors: checkLines(check.stdout), stderr: check.stderr.split('\n').filter((l) => l && !l.startsWith('note: ')) }).toEqual({
      code: 0,
      errors: [],
      stderr: [],
    });

    const rerun = await lab.sinkiOk(['push', remote, '--verify', '--json'], { store });
    const summary = jsonLine<PushSummary>(rerun.stdout, 'summary');
    expect(summary.verified).toEqual({ objects: expect.any(Number), bad: [] });
    expect(summary.bytes).toBeGreaterThan(0);
    expect(summary.bytes).toBeLessThan(storeBytes - 1.5 * MiB); // the first backup's packs were not sent again

    expect(JSON.parse((await lab.sinkiOk([...cache, 'snapshots', '--json'], { store: remoteStore })).stdout)).toHaveLength(2);
  });

  it('Ctrl-C during a push leaves nothing behind in the local store (no frozen metadata, no lock)', async () => {
    const store = await lab.store('interrupted', ['--pack-size', '1M']);
    const src = await lab.dir('interrupted-src');
    await addFiles(src, 'i', 3, 1 * MiB);
    await lab.sinkiOk(['backup', src], { store });
    const p = startPush(store, 'w:interrupted', ['--bwlimit', '200k']);
    await waitFor('the packs phase', () => p.lines.some((l) => l.includes('"phase":"packs"')) || Boolean(p.stderr()), 30_000);
    process.kill(-p.pgid, 'SIGINT'); // what a terminal sends: sinki and its rclone
    expect(await p.done).toBe(130);
    expect((await fs.readdir(store)).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
    expect(await fs.readdir(join(store, 'locks'))).toEqual([]);
  });

  it('an observer sampling a local-path remote during a slow push never sees a half-sent index, snapshot or SHA256SUMS, nor an index or snapshot before all packs are complete', async () => {
    const store = await lab.store('observed', ['--pack-size', '1M']);
    const src = await lab.dir('observed-src');
    await addFiles(src, 'first', 2, 200 * KiB);
    await lab.sinkiOk(['backup', src], { store });
    const remoteDir = join(lab.root, 'local', 'observed');
    await lab.sinkiOk(['push', `l:${remoteDir}`], { store });
    const oldSums = await fs.readFile(join(remoteDir, 'SHA256SUMS'));

    // Many small blobs make an index big enough to be caught half-sent at 100 KiB/s.
    await addFiles(join(src, 'many'), 'many', 120, 3 * KiB);
    await addFiles(join(src, 'big'), 'big', 2, 100 * KiB);
    await lab.sinkiOk(['backup', src], { store });
    const localPacks = new Map<string, number>();
    for (const f of await filesBelow(join(store, 'packs'))) localPacks.set(`packs/${f}`, (await fs.stat(join(store, 'packs', f))).size);
    const newSums = await fs.readFile(join(store, 'SHA256SUMS'));

    const violations = new Set<string>();
    let samples = 0;
    const sample = async (): Promise<void> => {
      const files = await filesBelow(remoteDir);
      const visible = files.filter((f) => !f.split('/').some((part) => part.startsWith('.tmp-')));
      for (const f of visible.filter((f) => /^(index|snapshots)\//.test(f))) {
        const data = await fs.readFile(join(remoteDir, f)).catch(() => null);
        if (data && sha256(data) !== f.split('/').pop()) violations.add(`${f} visible half-sent`);
      }
      const sums = await fs.readFile(join(remoteDir, 'SHA256SUMS')).catch(() => null);
      if (sums && !sums.equals(oldSums) && !sums.equals(newSums)) violations.add('SHA256SUMS visible half-sent');
      const newIndex = visible.filter((f) => f.startsWith('index/')).length > 1;
      if (newIndex) {
        for (const [pack, size] of localPacks) {
          const st = await fs.stat(join(remoteDir, pack)).catch(() => null);
          if (st?.size !== size) violations.add(`a new index is visible while ${pack} is ${st ? 'incomplete' : 'missing'}`);
        }
      }
      samples += 1;
    };

    const p = startPush(store, `l:${remoteDir}`, ['--bwlimit', '100k']);
    let finished = false;
    void p.done.then(() => (finished = true));
    while (!finished) {
      await sample();
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(await p.done).toBe(0);
    await sample();
    expect([...violations]).toEqual([]);
    expect(samples).toBeGreaterThan(20);
    expect((await fs.readFile(join(remoteDir, 'SHA256SUMS'))).equals(newSums)).toBe(true);
  });

  it('a backup during a push does not make the remote refer to packs it lacks: the push sends the store as it was when it started', async () => {
    const store = await lab.store('busy', ['--pack-size', '1M']);
    const src = await lab.dir('busy-src');
    await addFiles(join(src, 'a'), 'a', 4, 400 * KiB);
    await lab.sinkiOk(['backup', src], { store });
    const remote = 'w:busy';
    const remoteStore = `rclone:${remote}`;
    const cache = ['--cache-dir', join(lab.root, 'cache-busy')];

    const p = startPush(store, remote, ['--bwlimit', '300k']);
    await waitFor('the packs phase', () => p.lines.some((l) => l.includes('"phase":"packs"')) || Boolean(p.stderr()), 30_000);
    expect(p.stderr()).toBe('');
    const extra = await lab.dir('busy-extra');
    await addFiles(extra, 'late', 2, 300 * KiB);
    await lab.sinkiOk(['backup', extra], { store }); // new packs, index and snapshot while the push sends packs
    expect(await p.done).toBe(0);

    const check = await lab.sinki([...cache, 'check', '--read-data'], { store: remoteStore });
    expect({ code: check.code, errors: checkLines(check.stdout), stderr: check.stderr }).toEqual({ code: 0, errors: [], stderr: '' });
    const snaps = JSON.parse((await lab.sinkiOk([...cache, 'snapshots', '--json'], { store: remoteStore })).stdout) as Array<{ paths: string[] }>;
    expect(snaps.map((s) => s.paths)).toEqual([[src]]);

    await lab.sinkiOk(['push', remote], { store }); // the next push brings the rest
    const after = JSON.parse((await lab.sinkiOk([...cache, 'snapshots', '--json'], { store: remoteStore })).stdout) as Array<{ paths: string[] }>;
    expect(after.map((s) => s.paths)).toEqual([[src], [extra]]);
  });
});
