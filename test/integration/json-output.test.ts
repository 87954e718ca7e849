/*
 * Every command's --json output, from real runs on a temp store, against its schema in
 * src/cli/json-schema.ts; and docs/JSON.md has a section for each. The mount's commands (snapshot,
 * umount) run against a real mount.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JSON_SCHEMAS } from '../../src/cli/json-schema.js';
import { FAST_KDF, sinki, sinkiOk, type SinkiOptions } from '../helpers/cli.js';
import { schemaErrors } from '../helpers/json-schema.js';
import { tempDir } from '../helpers/temp.js';
import { cleanup, forgetMount, mount, waitForExit } from '../fuse/harness.js';

/** Commands whose output was checked here, to be sure each schema met real output. */
const seen = new Set<string>();

/** Each stdout line of `sinki ...args --json` parsed and checked against the schema of `command`; returns them. */
async function jsonOf(command: string, args: readonly string[], options: SinkiOptions = {}, exitCode: number | 'any' = 0): Promise<unknown[]> {
  const r = await sinki([...args, '--json'], options);
  if (exitCode !== 'any') expect({ code: r.code, stderr: r.stderr }).toEqual({ code: exitCode, stderr: r.code === exitCode ? r.stderr : '' });
  const lines = r.stdout.split('\n').filter(Boolean);
  expect(lines.length).toBeGreaterThan(0);
  const docs = lines.map((l) => JSON.parse(l) as unknown);
  for (const doc of docs) expect({ command, errors: schemaErrors(JSON_SCHEMAS[command]!, doc) }).toEqual({ command, errors: [] });
  seen.add(command);
  return docs;
}

describe("--json on every command that prints, against docs/JSON.md's schemas", () => {
  let work: string;
  let store: string;
  let source: string;
  let s: SinkiOptions;

  beforeAll(async () => {
    work = await tempDir('json');
    store = join(work, 'store');
    source = join(work, 'src');
    s = { store };
    await fs.mkdir(join(source, 'sub'), { recursive: true });
    await fs.writeFile(join(source, 'a.txt'), 'alpha\n');
    await fs.writeFile(join(source, 'sub', 'b.bin'), Buffer.alloc(100_000, 7));
    await fs.symlink('a.txt', join(source, 'link'));
  });

  afterAll(cleanup);

  it('init, backup, snapshots, ls, restore', async () => {
    const [init] = (await jsonOf('init', ['init', ...FAST_KDF], s)) as Array<{ id: string }>;
    expect(init!.id).toMatch(/^[0-9a-f]+$/);
    const backup = (await jsonOf('backup', ['backup', source], s)) as Array<{ type: string; files?: number }>;
    expect(backup.at(-1)).toMatchObject({ type: 'summary', files: 2 });
    await fs.writeFile(join(source, 'a.txt'), 'alpha, changed\n');
    await jsonOf('backup', ['backup', source], s);
    const [snaps] = (await jsonOf('snapshots', ['snapshots'], s)) as Array<Array<{ id: string }>>;
    expect(snaps).toHaveLength(2);
    const ls = (await jsonOf('ls', ['ls', 'latest'], s)) as Array<{ name: string; type: string }>;
    expect(ls.map((e) => `${e.name}:${e.type}`).sort()).toEqual(expect.arrayContaining(['a.txt:file', 'b.bin:file', 'link:symlink', 'sub:dir']));
    const restore = await jsonOf('restore', ['restore', 'latest', join(work, 'restored')], s);
    expect(restore.at(-1)).toMatchObject({ type: 'summary', files: 2, skipped: 0, failed: 0 });
    const versions = (await jsonOf('versions', ['versions', 'src/a.txt'], s)) as Array<{ snapshots: number; sha256?: string }>;
    expect(versions.map((v) => v.snapshots)).toEqual([1, 1]);
    expect((await jsonOf('versions', ['versions', 'src/link'], s))[0]).toMatchObject({ kind: 'symlink', target: 'a.txt', snapshots: 2 });
    const found = (await jsonOf('find', ['find', '*.txt'], s)) as Array<{ path: string; versions: number }>;
    expect(found).toEqual([expect.objectContaining({ path: '/src/a.txt', kind: 'file', versions: 2 })]);
  });

  it('snapshot, mounts and umount, on a real mount; doctor', async () => {
    const mnt = join(work, 'mnt');
    const m = await mount({ path: store, work }, mnt);
    await fs.writeFile(join(mnt, 'live.txt'), 'live\n');
    expect((await jsonOf('snapshot', ['snapshot'], s))[0]).toMatchObject({ type: 'snapshot', taken_by_mount: true });
    const [mounts] = (await jsonOf('mounts', ['mounts'])) as Array<Array<{ mountpoint: string }>>;
    expect(mounts!.find((x) => x.mountpoint === mnt)).toMatchObject({ read_only: false, state: 'answering', pid: m.pid });
    expect((await sinkiOk(['mounts'])).stdout).toContain(`${mnt}  rw  pid ${m.pid}\n`);
    expect(await jsonOf('umount', ['umount', mnt])).toEqual([{ type: 'umount', mountpoint: mnt, result: 'unmounted' }]);
    await waitForExit(m.pid);
    forgetMount(m);
    expect(((await jsonOf('mounts', ['mounts']))[0] as Array<{ mountpoint: string }>).map((x) => x.mountpoint)).not.toContain(mnt);
    // A mount whose process died: stale, and `sinki umount` clears it.
    const dead = await mount({ path: store, work }, mnt);
    process.kill(dead.pid, 'SIGKILL');
    await waitForExit(dead.pid);
    const [after] = (await jsonOf('mounts', ['mounts'])) as Array<Array<{ mountpoint: string }>>;
    expect(after!.find((x) => x.mountpoint === mnt)).toMatchObject({ state: 'stale', pid: null });
    expect((await sinkiOk(['mounts'])).stdout).toContain(`${mnt}  rw  stale: its process is gone; clear it with "sinki umount"\n`);
    expect((await jsonOf('umount', ['umount', mnt]))[0]).toMatchObject({ result: 'cleared-stale' });
    forgetMount(dead);
    const [checks] = (await jsonOf('doctor', ['doctor'], {}, 'any')) as Array<Array<{ name: string }>>;
    expect(checks!.length).toBeGreaterThan(2);
  });

  it('check, push, forget, prune, compact, repair index, unlock', async () => {
    expect((await jsonOf('check', ['check', '--read-data'], s))[0]).toMatchObject({ ok: true, read_data: true, problems: [] });
    expect((await jsonOf('push', ['push', join(work, 'remote')], s)).at(-1)).toMatchObject({ type: 'summary', dry_run: false });
    const forget = (await jsonOf('forget', ['forget', '--keep-last', '1', '--prune'], s)) as Array<{ type: string }>;
    expect(forget.map((d) => d.type)).toEqual(['forget', 'prune']);
    await jsonOf('prune', ['prune', '--dry-run'], s);
    await jsonOf('compact', ['compact'], s);
    expect((await jsonOf('repair index', ['repair', 'index'], s))[0]).toMatchObject({ type: 'repair-index', damaged: [] });
    expect(await jsonOf('unlock', ['unlock'], s)).toEqual([{ type: 'unlock', removed: 1 }]); // the lock of the mount killed above
  });

  it('key list, key add, key passwd, key remove', async () => {
    const env = { SINKI_NEW_PASSWORD: 'another password' };
    const [added] = (await jsonOf('key add', ['key', 'add', ...FAST_KDF], { ...s, env })) as Array<{ id: string }>;
    const [keys] = (await jsonOf('key list', ['key', 'list'], s)) as Array<Array<{ id: string; current: boolean }>>;
    expect(keys!.map((k) => k.id)).toContain(added!.id);
    const [changed] = (await jsonOf('key passwd', ['key', 'passwd', ...FAST_KDF], {
      ...s,
      password: 'another password',
      env: { SINKI_NEW_PASSWORD: 'a third password' },
    })) as Array<{ old_id: string }>;
    expect(changed!.old_id).toBe(added!.id);
    const old = keys!.find((k) => k.id !== added!.id)!.id;
    expect(await jsonOf('key remove', ['key', 'remove', old], { ...s, password: 'a third password' })).toEqual([{ type: 'key-remove', id: old }]);
  });

  it('check --json on a damaged store: ok false, the problems in the line and not on stderr, exit 13', async () => {
    const damaged = join(work, 'damaged');
    await fs.cp(store, damaged, { recursive: true });
    const packs = (await fs.readdir(join(damaged, 'packs'), { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
    const pack = join(packs[0]!.parentPath, packs[0]!.name);
    const bytes = await fs.readFile(pack);
    bytes[bytes.length >> 1]! ^= 0xff;
    await fs.writeFile(pack, bytes);
    const r = await sinki(['check', '--read-data', '--json'], { store: damaged, password: 'a third password' });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 13, stderr: '' });
    const line = JSON.parse(r.stdout) as { ok: boolean; problems: string[] };
    expect(schemaErrors(JSON_SCHEMAS.check!, line)).toEqual([]);
    expect(line.ok).toBe(false);
    expect(line.problems.join('\n')).toContain(packs[0]!.name);
  });

  it('docs/JSON.md has a section for every schema, and every schema met real output here (hook: test/integration/run-report.test.ts)', async () => {
    const doc = await fs.readFile(new URL('../../docs/JSON.md', import.meta.url), 'utf8');
    for (const command of Object.keys(JSON_SCHEMAS)) expect(doc).toContain(`## ${command}\n`);
    expect([...seen].sort()).toEqual(
      Object.keys(JSON_SCHEMAS)
        .filter((c) => c !== 'hook')
        .sort(),
    );
  });
});
