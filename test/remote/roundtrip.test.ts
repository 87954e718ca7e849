/*
 * Push a store to a local-path remote, a WebDAV remote and an SFTP remote (rclone serve on
 * loopback), then read it back from each through `-s rclone:REMOTE:PATH`.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonLine, MiB, randomData, RemoteLab, run, type PushSummary } from './harness.js';

let lab: RemoteLab;
let store: string;
let source: string;
const remotes: Record<string, string> = {};

beforeAll(async () => {
  lab = await RemoteLab.create('roundtrip');
  const [webdav, sftp] = await Promise.all([lab.webdav('w'), lab.sftp('f')]);
  remotes.local = `l:${join(lab.root, 'local', 'store')}`;
  remotes.webdav = `${webdav.name}stores/main`;
  remotes.sftp = `${sftp.name}main`;
  source = await lab.dir('src');
  await fs.mkdir(join(source, 'docs/deep'), { recursive: true });
  await fs.writeFile(join(source, 'photo.jpg'), randomData('photo', 3 * MiB));
  await fs.writeFile(join(source, 'docs/notes.txt'), 'x'.repeat(200_000));
  await fs.writeFile(join(source, 'docs/deep/name with spaces & ünïcode.txt'), 'hello\n');
  await fs.writeFile(join(source, 'empty'), '');
  await fs.symlink('docs/notes.txt', join(source, 'link'));
  store = await lab.store('store', ['--pack-size', '1M']);
  await lab.sinkiOk(['backup', source], { store });
});

afterAll(async () => {
  await lab?.close();
});

const KINDS = ['local', 'webdav', 'sftp'] as const;
const onRemote = (kind: string, args: string[]) => lab.sinki(['--cache-dir', join(lab.root, `cache-${kind}`), ...args], { store: `rclone:${remotes[kind]}` });

describe.concurrent('a store pushed to local-path, WebDAV and SFTP remotes', () => {
  beforeAll(async () => {
    await Promise.all(
      KINDS.map(async (kind) => {
        const summary = jsonLine<PushSummary>((await lab.sinkiOk(['push', remotes[kind]!, '--json'], { store })).stdout, 'summary');
        expect(summary.phases.map((p) => p.name)).toEqual(['packs', 'index', 'snapshots', 'refs', 'gen']);
        expect(summary.phases.find((p) => p.name === 'packs')!.transfers).toBeGreaterThan(1);
      }),
    );
  });

  it.each(KINDS)('%s: check --read-data is clean and restore latest is byte-identical (diff -r)', async (kind) => {
    const check = await onRemote(kind, ['check', '--read-data']);
    expect({ code: check.code, stderr: check.stderr, out: check.stdout }).toEqual({
      code: 0,
      stderr: '',
      out: expect.stringMatching(/^no errors were found \(1 snapshots, \d+ packs, \d+ blobs read\)/),
    });

    const target = await lab.dir(`restore-${kind}`);
    const restore = await onRemote(kind, ['restore', 'latest', target]);
    expect({ code: restore.code, stderr: restore.stderr }).toEqual({ code: 0, stderr: '' });
    const diff = await run('diff', ['-r', '--no-dereference', source, join(target, 'src')]);
    expect(diff).toMatchObject({ code: 0, stdout: '' });
  });

  it('webdav: snapshots --json, ls, cat and manifest answer like the local store', async () => {
    const [remoteSnaps, localSnaps] = await Promise.all([onRemote('webdav', ['snapshots', '--json']), lab.sinkiOk(['snapshots', '--json'], { store })]);
    expect(remoteSnaps.code).toBe(0);
    expect(JSON.parse(remoteSnaps.stdout)).toEqual(JSON.parse(localSnaps.stdout));
    expect(JSON.parse(remoteSnaps.stdout)).toMatchObject([{ paths: [source] }]);

    const [ls, localLs] = await Promise.all([onRemote('webdav', ['ls', 'latest']), lab.sinkiOk(['ls', 'latest'], { store })]);
    expect(ls).toMatchObject({ code: 0, stdout: localLs.stdout });
    expect(ls.stdout).toContain('/src/docs/deep/name with spaces & ünïcode.txt');

    const cat = await onRemote('webdav', ['cat', 'latest', '/src/photo.jpg']);
    expect(cat.code).toBe(0);
    expect(cat.stdoutBytes.equals(randomData('photo', 3 * MiB))).toBe(true);

    const [manifest, localManifest] = await Promise.all([onRemote('webdav', ['manifest', 'latest']), lab.sinkiOk(['manifest', 'latest'], { store })]);
    expect(manifest).toMatchObject({ code: 0, stdout: localManifest.stdout });
    expect(manifest.stdout).toContain('src/docs/notes.txt');
  });
});
