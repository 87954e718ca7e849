import { EXIT_OK, exitCodeOf, SinkiError } from '../errors.js';
import { globToRegExp } from '../backup/exclude.js';
import { snapshotDirName } from '../repo/snapshot.js';
import { VersionIndex, versionNames } from '../repo/versions.js';
import { readFileChunks } from '../backup/restorer.js';
import { resolvePath, walkTree } from '../repo/tree-walk.js';
import type { TreeNode } from '../repo/tree.js';
import { formatBytes } from '../units.js';
import type { CliContext } from './context.js';
import { printJson, writeStdout } from './output.js';

function modeString(node: TreeNode): string {
  const t = node.type === 'dir' ? 'd' : node.type === 'symlink' ? 'l' : '-';
  const bits = 'rwxrwxrwx';
  let s = '';
  for (let i = 0; i < 9; i++) s += node.mode & (1 << (8 - i)) ? bits[i] : '-';
  return t + s;
}

function nsToIso(ns: string): string {
  return new Date(Number(BigInt(ns) / 1_000_000n)).toISOString();
}

/** `sinki snapshots` */
export function listSnapshots(ctx: CliContext, flags: { json?: boolean }): Promise<void> {
  return ctx.withStore('snapshots', false, async (repo) => {
    const all = await repo.listSnapshots();
    if (flags.json) {
      printJson(
        all.map((s) => ({
          id: s.id,
          short_id: s.id.slice(0, 12),
          time: s.time,
          host: s.host,
          username: s.username,
          paths: s.paths,
          tags: s.tags,
          tree: s.tree,
          parent: s.parent ?? null,
          summary: s.summary ?? null,
        })),
      );
      return;
    }
    if (all.length === 0) {
      process.stdout.write('no snapshots\n');
      return;
    }
    process.stdout.write(`${'ID'.padEnd(12)}  ${'Time'.padEnd(19)}  ${'Host'.padEnd(12)}  ${'Size'.padStart(10)}  Tags  Paths\n`);
    for (const s of all) {
      const time = s.time.slice(0, 19).replace('T', ' ');
      const size = s.summary ? formatBytes(s.summary.bytes) : '';
      process.stdout.write(
        `${s.id.slice(0, 12)}  ${time}  ${s.host.slice(0, 12).padEnd(12)}  ${size.padStart(10)}  ${s.tags.join(',') || '-'}  ${s.paths.join(' ')}\n`,
      );
    }
    process.stdout.write(`${all.length} snapshot${all.length === 1 ? '' : 's'}\n`);
  });
}

/** `sinki ls` */
export function listFiles(ctx: CliContext, ref: string, path: string, flags: { long?: boolean; json?: boolean }): Promise<void> {
  return ctx.withStore('ls', false, async (repo) => {
    const snap = await repo.findSnapshot(ref);
    const start = await resolvePath(repo, snap.tree, path);
    const print = (p: string, node: TreeNode): void => {
      if (flags.json)
        printJson({
          path: `/${p}`,
          name: node.name,
          type: node.type,
          size: node.size,
          mode: node.mode,
          uid: node.uid,
          gid: node.gid,
          mtime: nsToIso(node.mtimeNs),
          ...(node.target ? { target: node.target } : {}),
          ...(node.sha256 ? { sha256: node.sha256 } : {}),
        });
      else if (flags.long)
        process.stdout.write(
          `${modeString(node)} ${String(node.uid).padStart(5)} ${String(node.gid).padStart(5)} ${String(node.size).padStart(12)} ${nsToIso(node.mtimeNs).slice(0, 19).replace('T', ' ')} /${p}${node.target ? ` -> ${node.target}` : ''}\n`,
        );
      else process.stdout.write(`/${p}\n`);
    };
    if (start) print(start.path, start.node);
    if (start && start.node.type !== 'dir') return;
    for await (const { path: p, node } of walkTree(repo, start ? start.node.subtree! : snap.tree, start?.path ?? '')) print(p, node);
  });
}

/** `sinki cat` */
export function catFile(ctx: CliContext, ref: string, file: string): Promise<void> {
  return ctx.withStore('cat', false, async (repo) => {
    const snap = await repo.findSnapshot(ref);
    const found = await resolvePath(repo, snap.tree, file);
    if (found?.node.type !== 'file') throw new SinkiError('USAGE', `${file} is not a file in the snapshot`);
    for await (const chunk of readFileChunks(repo, found.node.chunks ?? [])) await writeStdout(chunk);
  });
}

/** `sinki manifest` */
export function printManifest(ctx: CliContext, ref: string): Promise<void> {
  return ctx.withStore('manifest', false, async (repo) => {
    const snap = await repo.findSnapshot(ref);
    for await (const { path, node } of walkTree(repo, snap.tree)) {
      if (node.type !== 'file' || !node.sha256) continue;
      // sha256sum escapes names with backslash or newline by a leading backslash
      const escaped = /[\\\n]/.test(path) ? `\\${path.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}` : path;
      process.stdout.write(`${escaped.startsWith('\\') ? '\\' : ''}${node.sha256}  ${escaped.startsWith('\\') ? escaped.slice(1) : escaped}\n`);
    }
  });
}

/** `sinki versions`: every distinct content of one path across all snapshots, oldest first. */
export function listVersions(ctx: CliContext, path: string, flags: { json?: boolean }): Promise<number> {
  return ctx.withStore('versions', false, async (repo) => {
    const parts = path.split('/').filter((p) => p && p !== '.');
    if (parts.length === 0) throw new SinkiError('USAGE', 'give the path of a file inside the snapshots (as "sinki ls latest" shows it)');
    const versions = await new VersionIndex(repo).versions(parts);
    if (versions.length === 0) throw new SinkiError('NOT_FOUND', `${parts.join('/')}: no snapshot holds a file or link there`);
    for (const [name, v] of versionNames(versions)) {
      const n = v.node;
      if (flags.json) {
        printJson({
          type: 'version',
          path: `/${parts.join('/')}`,
          name,
          kind: n.type,
          snapshot_id: v.first.id,
          time: v.first.time,
          last_snapshot_id: v.last.id,
          last_time: v.last.time,
          snapshots: v.snapshots,
          size: n.size,
          mtime: nsToIso(n.mtimeNs),
          ...(n.sha256 ? { sha256: n.sha256 } : {}),
          ...(n.target !== undefined ? { target: n.target } : {}),
        });
      } else {
        const what = n.type === 'symlink' ? `-> ${n.target}` : formatBytes(n.size).padStart(10);
        const span = v.snapshots > 1 ? `in ${v.snapshots} snapshots, to ${snapshotDirName(v.last.time)}` : 'in 1 snapshot';
        process.stdout.write(`${name}  ${v.first.id.slice(0, 12)}  ${what}  ${nsToIso(n.mtimeNs).slice(0, 19).replace('T', ' ')}  ${span}\n`);
      }
    }
    return EXIT_OK;
  });
}

/** `sinki find`: entries whose name matches a glob in any snapshot, each with its versions. */
export function findPaths(ctx: CliContext, pattern: string, flags: { json?: boolean }): Promise<number> {
  if (pattern.includes('/')) throw new SinkiError('USAGE', `find matches names (as find -name does): ${pattern} has a "/"`);
  const re = globToRegExp(pattern);
  return ctx.withStore('find', false, async (repo) => {
    const found = await new VersionIndex(repo).find((name) => re.test(name));
    for (const f of found) {
      const first = f.versions.reduce((a, v) => (v.first.time < a.time ? v.first : a), f.versions[0]!.first);
      const last = f.versions.reduce((a, v) => (v.last.time > a.time ? v.last : a), f.versions[0]!.last);
      const kind = f.versions.at(-1)!.node.type;
      const versions = kind === 'dir' ? 0 : f.versions.filter((v) => v.node.type !== 'dir').length;
      if (flags.json) printJson({ type: 'match', path: `/${f.path}`, kind, versions, first_time: first.time, last_time: last.time });
      else
        process.stdout.write(
          `/${f.path}${kind === 'dir' ? '/' : ''}  ${kind === 'dir' ? '' : `${versions} version${versions === 1 ? '' : 's'}, `}${snapshotDirName(first.time)} … ${snapshotDirName(last.time)}\n`,
        );
    }
    if (!flags.json) process.stdout.write(`${found.length} match${found.length === 1 ? '' : 'es'}\n`);
    return found.length > 0 ? EXIT_OK : exitCodeOf('NOT_FOUND');
  });
}
