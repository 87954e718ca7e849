import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { describe, expect, it } from 'vitest';
import { CODE_TABLE, exitCodeList, type ErrorCode } from '../../src/errors.js';
import { sinkiOk } from '../helpers/cli.js';

const README = new URL('../../README.md', import.meta.url);
const DESIGN = new URL('../../docs/DESIGN.md', import.meta.url);

/** The paragraph under "### Exit codes" in the README, on one line. */
function readmeExitCodes(): string {
  const text = readFileSync(README, 'utf8');
  const match = /^### Exit codes\n\n([\s\S]*?)\n\n/m.exec(text);
  if (!match) throw new Error('README.md has no "### Exit codes" paragraph');
  return match[1]!.replace(/\s+/g, ' ').trim();
}

describe('exit codes: one table, listed by the help and the README', () => {
  it('the README lists exactly the exit codes of src/errors.ts, in order, with their meanings', () => {
    const expected = `${exitCodeList()
      .map((c) => `${c.exit} ${c.meaning}`)
      .join(' · ')}.`;
    expect(readmeExitCodes(), 'update README.md "### Exit codes" to this text').toBe(expected);
  });

  it('`sinki --help` lists every exit code of the table with its meaning', async () => {
    const help = (await sinkiOk(['--help'], { password: null })).stdout;
    const listed = /Exit codes: ([\s\S]*?)\.\n/.exec(help)?.[1]?.replace(/\s+/g, ' ');
    expect(listed).toBe(
      exitCodeList()
        .map((c) => `${c.exit} ${c.meaning}`)
        .join(' · '),
    );
    for (const info of Object.values(CODE_TABLE)) expect(listed).toContain(`${info.exit} ${info.meaning}`);
  });

  it('the table in docs/DESIGN.md ("Errors and exit codes") has every code with its exit code and errno', () => {
    const text = readFileSync(DESIGN, 'utf8');
    const section = text.slice(text.indexOf('## Errors and exit codes'));
    const rows = [...section.matchAll(/^\| ([A-Z_]+) \| (\d+) \| (E[A-Z]+) \|/gm)].map((m) => ({ code: m[1]!, exit: Number(m[2]), errno: m[3]! }));
    const errnoName = (n: number): string | undefined => Object.entries(constants.errno).find(([, v]) => v === n)?.[0];
    const expected = Object.entries(CODE_TABLE).map(([code, info]) => ({ code, exit: info.exit, errno: errnoName(info.errno) }));
    const byCode = (a: { code: string }, b: { code: string }): number => a.code.localeCompare(b.code);
    expect(rows.sort(byCode)).toEqual(expected.sort(byCode));
    expect(Object.keys(CODE_TABLE).sort()).toEqual(rows.map((r) => r.code as ErrorCode).sort());
  });

  it('every exit code has one meaning, and every errno is a named one of os.constants.errno', () => {
    const meanings = new Map<number, string>();
    for (const info of Object.values(CODE_TABLE)) {
      expect(meanings.get(info.exit) ?? info.meaning).toBe(info.meaning);
      meanings.set(info.exit, info.meaning);
      expect(Object.values(constants.errno)).toContain(info.errno);
    }
    expect(exitCodeList().map((c) => c.exit)).toEqual([...new Set(exitCodeList().map((c) => c.exit))].sort((a, b) => a - b));
  });
});
