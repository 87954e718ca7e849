import { SinkiError } from '../errors.js';
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
      printJson(all.map((s) => ({ id: s.id, short_id: s.id.slice(0, 12), time: s.time, host: s.host, username: s.username, paths: s.paths, tags: s.tags, tree: s.tree, parent: s.parent ?? null, summary: s.summary ?? null })));
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
      process.stdout.write(`${s.id.slice(0, 12)}  ${time}  ${s.host.slice(0, 12).padEnd(12)}  ${size.padStart(10)}  ${s.tags.join(',') || '-'}  ${s.paths.join(' ')}\n`);
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
      if (flags.json) printJson({ path: `/${p}`, name: node.name, type: node.type, size: node.size, mode: node.mode, uid: node.uid, gid: node.gid, mtime: nsToIso(node.mtimeNs), ...(node.target ? { target: node.target } : {}), ...(node.sha256 ? { sha256: node.sha256 } : {}) });
      else if (flags.long) process.stdout.write(`${modeString(node)} ${String(node.uid).padStart(5)} ${String(node.gid).padStart(5)} ${String(node.size).padStart(12)} ${nsToIso(node.mtimeNs).slice(0, 19).replace('T', ' ')} /${p}${node.target ? ` -> ${node.target}` : ''}\n`);
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
    if (!found || found.node.type !== 'file') throw new SinkiError('USAGE', `${file} is not a file in the snapshot`);
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
