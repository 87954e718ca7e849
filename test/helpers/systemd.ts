/*
 * The units in contrib/ run outside systemd for the tests: their ExecStart= lines expanded as
 * systemd expands them, with this checkout's CLI in place of /usr/local/bin/sinki.
 */
import { CLI, run, type RunResult } from './cli.js';

/** Where the units expect the CLI (`npm link` puts it there). */
export const INSTALLED_CLI = '/usr/local/bin/sinki';

/** The ExecStart= command lines of a unit, in order. */
export function execStartLines(unit: string): string[] {
  return unit
    .split('\n')
    .filter((l) => l.startsWith('ExecStart='))
    .map((l) => l.slice('ExecStart='.length));
}

/** The unit's Environment= assignments (NAME=value, space-separated; values without spaces). */
export function unitDefaults(unit: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const l of unit.split('\n').filter((x) => x.startsWith('Environment='))) {
    for (const a of l.slice('Environment='.length).split(/\s+/).filter(Boolean)) env[a.slice(0, a.indexOf('='))] = a.slice(a.indexOf('=') + 1);
  }
  return env;
}

/**
 * A command line as systemd runs it (systemd.service(5), "Command lines"): words split at
 * whitespace, quotes group; a word that is exactly $NAME becomes the value split at whitespace (zero
 * or more words); ${NAME} anywhere becomes the value as it is. /usr/local/bin/sinki is this CLI.
 */
export function execStartArgv(line: string, env: Record<string, string>): string[] {
  const words: string[] = [];
  for (const m of line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)) {
    const raw = m[1] ?? m[2] ?? m[3]!;
    const plain = m[3] !== undefined;
    const whole = plain ? /^\$([A-Za-z_]\w*)$/.exec(raw) : null;
    if (whole) words.push(...(env[whole[1]!] ?? '').split(/\s+/).filter(Boolean));
    else words.push(raw.replace(/\$\{(\w+)\}/g, (_s, name: string) => env[name] ?? '').replaceAll(INSTALLED_CLI, CLI));
  }
  return words;
}

/** Runs a command line as the unit would, to completion; the environment has nothing of sinki's but what the unit sets. */
export function runExecStart(line: string, env: Record<string, string>): Promise<RunResult> {
  const [program, ...args] = execStartArgv(line, env);
  return run(program!, args, { env: { SINKI_PASSWORD: undefined, SINKI_STORE: undefined, ...env } });
}
