/*
 * What a push killed with SIGKILL leaves behind, and who clears it: its rclone ends with it (the
 * kernel's parent-death signal), and the next push removes its frozen metadata in the store and its
 * staging folder on the remote, but never those of a push still running.
 */
import { spawn } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childPids, CLI, filesBelow, isAlive, KiB, randomData, RemoteLab, waitFor, type Served } from './harness.js';
import { hostTag, ownerGone, parseStagingName, removeStaleLocalStaging, stagingName, STAGING_PREFIX } from '../../src/remote/staging.js';

let lab: RemoteLab;
let webdav: Served;

beforeAll(async () => {
  lab = await RemoteLab.create('staging');
  webdav = await lab.webdav('w');
});

afterAll(async () => {
  await lab?.close();
});

/** Start time of a live process, as staging names record it. */
function startedOf(pid: number): string {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return text.slice(text.lastIndexOf(')') + 2).split(' ')[19]!;
}

/** The pid of a process that has ended. */
async function deadPid(): Promise<number> {
  const child = spawn('true');
  await new Promise((r) => child.once('exit', r));
  return child.pid!;
}

const tmpNames = async (dir: string): Promise<string[]> => (await fs.readdir(dir).catch((): string[] => [])).filter((n) => n.startsWith(STAGING_PREFIX)).sort();

describe('staging folder names', () => {
  it('record host tag, pid and start time, and read back', () => {
    const owner = { host: hostTag('example'), pid: 4242, started: '123456' };
    const name = stagingName(owner, 'abcd0123');
    expect(name).toBe(`${STAGING_PREFIX}${hostTag('example')}-4242-123456-abcd0123`);
    expect(name).not.toContain('example');
    expect(parseStagingName(name)).toEqual(owner);
    expect(parseStagingName('.tmp-push-5927cf287772')).toBeNull(); // named the old way
    expect(parseStagingName('.tmp-other')).toBeNull();
  });

  it('tell a dead push from a live one; another host or an old name is never known to be dead', async () => {
    const live = stagingName({ host: hostTag(), pid: process.pid, started: startedOf(process.pid) });
    const dead = stagingName({ host: hostTag(), pid: await deadPid(), started: '1' });
    const reused = stagingName({ host: hostTag(), pid: process.pid, started: '1' }); // the pid now runs another process
    const elsewhere = stagingName({ host: hostTag('some-other-host'), pid: await deadPid(), started: '1' });
    expect(await ownerGone(live)).toBe(false);
    expect(await ownerGone(dead)).toBe(true);
    expect(await ownerGone(reused)).toBe(true);
    expect(await ownerGone(elsewhere)).toBeNull();
    expect(await ownerGone('.tmp-push-5927cf287772')).toBeNull();
  });

  it('in a store: the folders of dead pushes go, those of live ones and recent old-style ones stay', async () => {
    const store = await lab.dir('local-cleanup');
    const live = stagingName({ host: hostTag(), pid: process.pid, started: startedOf(process.pid) });
    const dead = stagingName({ host: hostTag(), pid: await deadPid(), started: '1' });
    const oldRecent = '.tmp-push-0123456789ab';
    const oldAncient = '.tmp-push-ba9876543210';
    for (const name of [live, dead, oldRecent, oldAncient]) await fs.mkdir(join(store, name, 'index'), { recursive: true });
    const longAgo = new Date(Date.now() - 24 * 3600 * 1000);
    await fs.utimes(join(store, oldAncient), longAgo, longAgo);
    expect((await removeStaleLocalStaging(store)).sort()).toEqual([dead, oldAncient].sort());
    expect(await tmpNames(store)).toEqual([live, oldRecent].sort());
  });
});

describe.concurrent('a push killed with SIGKILL', () => {
  it('takes its rclone with it; the next push clears what it left in the store and on the remote, and the remote checks clean', async () => {
    const store = await lab.store('killed', ['--pack-size', '1M']);
    const src = await lab.dir('killed-src');
    for (let i = 0; i < 4; i++) await fs.writeFile(join(src, `f${i}.jpg`), randomData(`killed-${i}`, 600 * KiB));
    await lab.sinkiOk(['backup', src], { store });
    const remote = 'w:killed';
    const remoteDir = join(webdav.dir, 'killed');

    // Only sinki's own process is killed (not its process group): nothing in sinki runs after SIGKILL.
    const child = spawn(process.execPath, [CLI, '-s', store, 'push', remote, '--bwlimit', '200k', '--json'], {
      env: { ...process.env, ...lab.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const closed = new Promise((r) => child.once('close', r));
    let rclonePids: number[] = [];
    try {
      await waitFor('the packs phase', () => out.includes('"phase":"packs"'), 30_000);
      // The small staged phases are up by now; the packs are still going at 200 KiB/s.
      await waitFor('a staging folder on the remote', async () => (await tmpNames(remoteDir)).length > 0, 30_000);
      rclonePids = childPids(child.pid!);
      expect(rclonePids.length).toBeGreaterThan(0);
      process.kill(child.pid!, 'SIGKILL');
      await closed;
      await waitFor('rclone to end with sinki', () => rclonePids.every((pid) => !isAlive(pid)), 20_000);
    } finally {
      try {
        process.kill(-child.pid!, 'SIGKILL'); // whatever is left of the group, if the test failed
      } catch {
        // all gone
      }
    }
    expect(await tmpNames(store)).toHaveLength(1);
    expect(await tmpNames(remoteDir)).toHaveLength(1);

    await lab.sinkiOk(['push', remote], { store });
    expect(await tmpNames(store)).toEqual([]);
    expect(await tmpNames(remoteDir)).toEqual([]);
    expect((await filesBelow(remoteDir)).filter((f) => f.includes('.tmp-'))).toEqual([]);
    const check = await lab.sinki(['--cache-dir', join(lab.root, 'cache-killed'), 'check', '--read-data'], { store: `rclone:${remote}` });
    expect({ code: check.code, stderr: check.stderr.split('\n').filter((l) => l && !l.startsWith('note: ')) }).toEqual({ code: 0, stderr: [] });
  });

  it('a push keeps the staging folders of pushes still running (and of unknown ones), and --delete only the live ones', async () => {
    const store = await lab.store('neighbours');
    const src = await lab.dir('neighbours-src');
    await fs.writeFile(join(src, 'a.jpg'), randomData('neighbours', 100 * KiB));
    await lab.sinkiOk(['backup', src], { store });
    const remoteDir = join(webdav.dir, 'neighbours');
    const live = stagingName({ host: hostTag(), pid: process.pid, started: startedOf(process.pid) });
    const dead = stagingName({ host: hostTag(), pid: await deadPid(), started: '1' });
    const elsewhere = stagingName({ host: hostTag('some-other-host'), pid: 1, started: '1' });
    for (const name of [live, dead, elsewhere]) {
      await fs.mkdir(join(remoteDir, name, 'index'), { recursive: true });
      await fs.writeFile(join(remoteDir, name, 'index', 'half-sent'), 'x');
    }
    await lab.sinkiOk(['push', 'w:neighbours'], { store });
    expect(await tmpNames(remoteDir)).toEqual([live, elsewhere].sort());
    await lab.sinkiOk(['push', 'w:neighbours', '--delete'], { store });
    expect(await tmpNames(remoteDir)).toEqual([live]);
  });
});
