/*
 * Every push mirrors keys/ exactly, with or without --delete: a password removed here (key remove,
 * key passwd) stops opening the offsite copy at the next push, and a key file planted on the remote
 * goes. Everything else is still deleted only with --delete.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST_KDF } from '../helpers/cli.js';
import { filesBelow, KiB, PASSWORD, randomData, RemoteLab, type Served } from './harness.js';

let lab: RemoteLab;
let webdav: Served;

beforeAll(async () => {
  lab = await RemoteLab.create('keys');
  webdav = await lab.webdav('w');
});

afterAll(async () => {
  await lab?.close();
});

const SECOND = 'a second password';
const THIRD = 'the password after passwd';

describe.concurrent.each([
  { kind: 'local-path remote', remote: (name: string) => `l:${join(lab.root, 'local', name)}`, dir: (name: string) => join(lab.root, 'local', name) },
  { kind: 'webdav on loopback', remote: (name: string) => `w:${name}`, dir: (name: string) => join(webdav.dir, name) },
])('push to a $kind', ({ kind, remote, dir }) => {
  it('mirrors keys/ on every push: removed and replaced passwords stop opening the remote, a planted key file goes; other deletions still wait for --delete', async () => {
    const name = kind.split(' ')[0]!;
    const store = await lab.store(`keys-${name}`);
    const src = await lab.dir(`keys-${name}-src`);
    await fs.writeFile(join(src, 'a.jpg'), randomData(`keys-${name}`, 100 * KiB));
    await lab.sinkiOk(['backup', src], { store });
    await fs.writeFile(join(src, 'b.jpg'), randomData(`keys-${name}-b`, 50 * KiB));
    await lab.sinkiOk(['backup', src], { store });
    const target = remote(`keys-${name}`);
    const remoteDir = dir(`keys-${name}`);
    const remoteStore = ['--cache-dir', join(lab.root, `cache-${name}`), '-s', `rclone:${target}`];
    const opensRemote = async (password: string): Promise<number> =>
      (await lab.sinki([...remoteStore, 'snapshots'], { env: { SINKI_PASSWORD: password } })).code;
    const keysHere = async (): Promise<string[]> => (await fs.readdir(join(store, 'keys'))).sort();
    const keysThere = async (): Promise<string[]> => (await filesBelow(join(remoteDir, 'keys'))).sort();

    const added = /^added key ([0-9a-f]+)$/m.exec((await lab.sinkiOk(['key', 'add', ...FAST_KDF], { store, env: { SINKI_NEW_PASSWORD: SECOND } })).stdout)![1]!;
    await lab.sinkiOk(['push', target], { store });
    expect(await keysThere()).toEqual(await keysHere());
    expect(await opensRemote(SECOND)).toBe(0);

    // key remove, then a push without --delete: the removed password no longer opens the remote.
    await lab.sinkiOk(['key', 'remove', added], { store });
    await lab.sinkiOk(['push', target, '--dry-run'], { store });
    expect(await keysThere()).toContain(`${added}.json`); // a dry run removes nothing
    await lab.sinkiOk(['push', target], { store });
    expect(await keysThere()).toEqual(await keysHere());
    expect(await opensRemote(SECOND)).toBe(12);

    // key passwd: the old password stops opening the remote, the new one opens it.
    await lab.sinkiOk(['key', 'passwd', ...FAST_KDF], { store, env: { SINKI_NEW_PASSWORD: THIRD } });
    await lab.sinkiOk(['push', target], { store, env: { SINKI_PASSWORD: THIRD } });
    expect(await keysThere()).toEqual(await keysHere());
    expect(await opensRemote(PASSWORD)).toBe(12);
    expect(await opensRemote(THIRD)).toBe(0);

    // A key file someone put on the remote goes at the next push.
    await fs.writeFile(join(remoteDir, 'keys', '0000000000000000.json'), '{}');
    // A forgotten snapshot stays on the remote without --delete (only keys/ is mirrored always).
    const snapshotsBefore = await filesBelow(join(remoteDir, 'snapshots'));
    expect(snapshotsBefore).toHaveLength(2);
    await lab.sinkiOk(['forget', '--keep-last', '1'], { store, env: { SINKI_PASSWORD: THIRD } });
    await lab.sinkiOk(['push', target], { store, env: { SINKI_PASSWORD: THIRD } });
    expect(await keysThere()).toEqual(await keysHere());
    expect(await filesBelow(join(remoteDir, 'snapshots'))).toEqual(snapshotsBefore);
    await lab.sinkiOk(['push', target, '--delete'], { store, env: { SINKI_PASSWORD: THIRD } });
    expect(await filesBelow(join(remoteDir, 'snapshots'))).toEqual(await filesBelow(join(store, 'snapshots')));
    expect(await filesBelow(join(remoteDir, 'snapshots'))).toHaveLength(1);
  });
});
