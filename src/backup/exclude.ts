/**
 * --exclude globs: `*` and `?` stay within one path segment, `**` crosses segments. A pattern
 * without `/` matches any entry by its name; with `/` it matches the path below the backup source
 * (or an absolute path when it starts with `/`).
 */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        re += '.*';
        i += 1;
        if (glob[i + 1] === '/') i += 1;
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

export class ExcludeMatcher {
  private readonly byName: RegExp[] = [];
  private readonly byPath: RegExp[] = [];

  constructor(globs: readonly string[]) {
    for (const g of globs.map((s) => s.trim()).filter((s) => s && !s.startsWith('#'))) {
      const clean = g.endsWith('/') ? g.slice(0, -1) : g;
      (clean.includes('/') ? this.byPath : this.byName).push(globToRegExp(clean.replace(/^\.\//, '')));
    }
  }

  /** name: the entry's own name; relPath: below the source; absPath: on this machine. */
  excludes(name: string, relPath: string, absPath: string): boolean {
    return this.byName.some((r) => r.test(name)) || this.byPath.some((r) => r.test(relPath) || r.test(absPath));
  }
}
