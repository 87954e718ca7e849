#!/usr/bin/env node
import { availableParallelism } from 'node:os';
import { Command, CommanderError } from 'commander';
import { EXIT_OK, exitCodeList, exitCodeOf } from '../errors.js';
import { registerBackup } from './backup.js';
import { registerBrowse } from './browse.js';
import { registerCheck } from './check.js';
import { registerDoctor } from './doctor.js';
import { registerInit } from './init.js';
import { registerForget } from './forget.js';
import { registerKey } from './key.js';
import { registerRepair } from './repair.js';
import { registerMount } from './mount.js';
import { registerMounts } from './mounts.js';
import { registerPush } from './push.js';
import { registerRestore } from './restore.js';
import { registerUnlock } from './unlock.js';
import { reportError } from './output.js';
import { watchStdoutOutsideCommands } from './action.js';

/** Items joined with " · " into lines of at most `width` characters, broken between items only. */
function wrapList(items: string[], width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const item of items) {
    if (line && line.length + 3 + item.length > width) {
      lines.push(`${line} ·`);
      line = item;
    } else line = line ? `${line} · ${item}` : item;
  }
  return [...lines, line].join('\n');
}

const EXIT_CODES_HELP = `
Exit codes: ${wrapList(
  exitCodeList().map((c) => `${c.exit} ${c.meaning}`),
  88,
)}.

Password: SINKI_PASSWORD, --password-file or --password-command; otherwise asked on the terminal.
Store: -s/--store or SINKI_STORE; a remote store (read-only here) is rclone:REMOTE:PATH.`;

function buildProgram(): Command {
  const program = new Command('sinki')
    .description('Encrypted, compressed, deduplicating backups that are also a filesystem')
    .version('0.1.0')
    .option('-s, --store <path>', 'the store folder (default: $SINKI_STORE)')
    .option('--password-file <file>', 'read the password from this file')
    .option('--password-command <cmd>', 'run this command and use its output as the password')
    .option('-v, --verbose', 'more detail: stack traces of errors, each key file tried')
    .option('--rclone <path>', 'the rclone binary (default: $SINKI_RCLONE or rclone on PATH); RCLONE_CONFIG is honoured')
    .option('--cache-dir <dir>', 'local cache: ciphertext ranges of remote stores, and chunks mounts left to compress (default ~/.cache/sinki)')
    .option('--cache-max-size <size>', 'cap of that cache (default 1G; 0 disables it)')
    .option(
      '--key <id>',
      'open the store with this key file only (its name in keys/, as "sinki key list" shows); else the key used last here is tried first, then at most 20',
    )
    .option('--progress', 'show progress also when stderr is not a terminal (a line every 2 s); on a terminal it is shown anyway')
    .option('-q, --quiet', 'no progress lines')
    .option(
      '--allow-rollback',
      'use a store that is older than its generations say or than this machine has seen it (put back from an old copy): warn and go on',
    )
    .addHelpText('after', EXIT_CODES_HELP)
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(`sinki: ${str.replace(/^error: /, '').trimEnd()} (see --help)\n`) });
  registerInit(program);
  registerBackup(program);
  registerBrowse(program);
  registerRestore(program);
  registerMount(program);
  registerMounts(program);
  registerPush(program);
  registerCheck(program);
  registerForget(program);
  registerRepair(program);
  registerKey(program);
  registerUnlock(program);
  registerDoctor(program);
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

async function main(): Promise<void> {
  // xz jobs run on libuv's pool (4 threads by default), as does file I/O: leave room for both.
  process.env.UV_THREADPOOL_SIZE ??= String(Math.max(4, availableParallelism() * 2 + 2));
  watchStdoutOutsideCommands();
  const program = buildProgram();
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? EXIT_OK : exitCodeOf('USAGE');
      return;
    }
    process.exitCode = reportError(err, process.argv.includes('--verbose') || process.argv.includes('-v'));
  }
}

await main();
