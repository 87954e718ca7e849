// cli.mjs — the edge every script shares: options read with node:util parseArgs (and the ones every
// bench script takes), usage errors (one line, exit 2), --help printed from the script's own header
// comment, and the run of a main (signals, one line on failure, exit 1).
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/**
 * Prints `prog: msg` on stderr and exits 2 (bad usage).
 * @returns {never}
 */
export function die(prog, msg) {
  process.stderr.write(`${prog}: ${msg}\n`);
  process.exit(2);
}

/**
 * @typedef {{ type: 'string' | 'boolean', short?: string, default?: string | boolean }} OptionSpec
 */

/**
 * Reads `argv` against `options` (as node:util parseArgs takes them; `--name value` and
 * `--name=value` both work). An unknown option, a value-less string option, a value given to a
 * switch, or more positionals than `positionals` allows: `fail(message)`, by default
 * `prog: message` on stderr and exit 2. With `help` (the script's import.meta.url), -h and --help
 * print the script's header comment and exit 0.
 * @template {Record<string, OptionSpec>} T
 * @param {string} prog
 * @param {string[]} argv
 * @param {T} options
 * @param {{ positionals?: number, help?: string, fail?: (message: string) => never }} [how]
 * @returns {{ values: { [K in keyof T]?: T[K]['type'] extends 'string' ? string : boolean }, positionals: string[] }}
 */
export function parseOptions(prog, argv, options, { positionals = 0, help, fail = (message) => die(prog, message) } = {}) {
  /** @type {Record<string, OptionSpec>} */
  const all = help ? { ...options, help: { type: 'boolean', short: 'h' } } : options;
  const { values, positionals: rest, tokens } = parseArgs({ args: argv, options: all, strict: false, allowPositionals: true, tokens: true });
  let seen = 0;
  for (const t of tokens) {
    if (t.kind === 'positional' && ++seen > positionals) fail(`unexpected argument ${t.value} (see --help)`);
    if (t.kind !== 'option') continue;
    const spec = all[t.name];
    if (!spec) fail(`unknown argument ${t.rawName} (see --help)`);
    if (spec.type === 'string' && t.value === undefined) fail(`${t.rawName} needs a value`);
    if (spec.type === 'boolean' && t.inlineValue) fail(`${t.rawName} takes no value`);
  }
  if (help && values.help) {
    process.stdout.write(headerHelp(help));
    process.exit(0);
  }
  return { values: /** @type {any} */ (values), positionals: rest };
}

/**
 * Runs a script's main: SIGINT and SIGTERM exit 130 and 143 (so that its 'exit' handlers clean up),
 * a thrown error is reported as `prog: message` (with the stack when `stack`) and exit status 1.
 * Resolves to whether main finished.
 * @param {string} prog
 * @param {() => Promise<void>} main
 */
export async function runMain(prog, main, { stack = false } = {}) {
  process.on('SIGINT', () => process.exit(130));
  process.on('SIGTERM', () => process.exit(143));
  try {
    await main();
    return true;
  } catch (err) {
    process.stderr.write(`\n${prog}: ${(stack && err.stack) || err.message}\n`);
    process.exitCode = 1;
    return false;
  }
}

/** What every bench-* script takes: the dataset (--size, --quick, --seed), the work folder (--workdir, --keep), the report (--out). */
export const BENCH_OPTIONS = /** @type {const} */ ({
  size: { type: 'string' },
  seed: { type: 'string' },
  out: { type: 'string' },
  workdir: { type: 'string' },
  quick: { type: 'boolean' },
  keep: { type: 'boolean' },
});

/** The script's header comment (the `//` lines after the shebang) as plain text, for --help. */
export function headerHelp(scriptUrl) {
  const lines = fs.readFileSync(fileURLToPath(scriptUrl), 'utf8').split('\n').slice(1);
  const end = lines.findIndex((l) => !l.startsWith('//'));
  return `${lines
    .slice(0, end < 0 ? lines.length : end)
    .map((l) => l.replace(/^\/\/ ?/, ''))
    .join('\n')}\n`;
}
