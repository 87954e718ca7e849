// tree-compare.mjs — stats of a directory tree and a metadata comparison of two trees
// (type, permission bits, size, symlink target, mtime). Contents are compared by `diff -r` in the caller.
import fs from 'node:fs';
import path from 'node:path';

/** Map of relative path -> lstat of every entry below root (root itself excluded). */
export function walk(root) {
  const out = new Map();
  const stack = [''];
  while (stack.length) {
    const rel = /** @type {string} */ (stack.pop());
    for (const name of fs.readdirSync(path.join(root, rel))) {
      const r = rel ? `${rel}/${name}` : name;
      const st = fs.lstatSync(path.join(root, r));
      out.set(r, st);
      if (st.isDirectory()) stack.push(r);
    }
  }
  return out;
}

/** { files, dirs, symlinks, bytes } where bytes is the sum of regular file sizes. */
export function treeStats(root) {
  let files = 0;
  let dirs = 0;
  let symlinks = 0;
  let bytes = 0;
  for (const st of walk(root).values()) {
    if (st.isFile()) {
      files++;
      bytes += st.size;
    } else if (st.isDirectory()) dirs++;
    else if (st.isSymbolicLink()) symlinks++;
  }
  return { files, dirs, symlinks, bytes };
}

const kind = (st) => (st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other');

/**
 * Compare metadata of tree b against tree a. Returns { errors: string[], dirMtimeDiffs: number }.
 * mtimeSlackMs: allowed |mtime difference| for files and symlinks (tar keeps whole seconds only).
 * Directory mtimes are only counted, not treated as errors.
 */
export function compareTrees(a, b, { mtimeSlackMs = 0 } = {}) {
  const ta = walk(a);
  const tb = walk(b);
  const errors = [];
  let dirMtimeDiffs = 0;
  for (const [rel, sa] of ta) {
    const sb = tb.get(rel);
    if (!sb) {
      errors.push(`missing: ${rel}`);
      continue;
    }
    if (kind(sa) !== kind(sb)) {
      errors.push(`type ${kind(sa)} -> ${kind(sb)}: ${rel}`);
      continue;
    }
    if (!sa.isSymbolicLink() && (sa.mode & 0o7777) !== (sb.mode & 0o7777))
      errors.push(`mode ${(sa.mode & 0o7777).toString(8)} -> ${(sb.mode & 0o7777).toString(8)}: ${rel}`);
    if (sa.isFile() && sa.size !== sb.size) errors.push(`size ${sa.size} -> ${sb.size}: ${rel}`);
    if (sa.isSymbolicLink() && fs.readlinkSync(path.join(a, rel)) !== fs.readlinkSync(path.join(b, rel))) errors.push(`symlink target: ${rel}`);
    const dm = Math.abs(sa.mtimeMs - sb.mtimeMs);
    if (sa.isDirectory()) {
      if (dm > Math.max(mtimeSlackMs, 1)) dirMtimeDiffs++;
    } else if (dm > mtimeSlackMs) errors.push(`mtime ${sa.mtime.toISOString()} -> ${sb.mtime.toISOString()}: ${rel}`);
  }
  for (const rel of tb.keys()) if (!ta.has(rel)) errors.push(`extra: ${rel}`);
  return { errors, dirMtimeDiffs };
}
