#!/usr/bin/env node
/*
 * mount.fuse.sinki: what mount(8) runs for `mount -t fuse.sinki STORE MOUNTPOINT -o ...` and for an
 * fstab line of that type. It returns once the mount is up (`sinki mount --background`), or with
 * one error line and sinki's exit code; it never asks for a password.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { exitCodeOf } from '../errors.js';
import { helperCommand, type HelperCommand } from './mount-options.js';
import { reportError } from './output.js';

const CLI = fileURLToPath(new URL('./main.js', import.meta.url));

function runSinki(cmd: HelperCommand): Promise<number> {
  return new Promise((resolve) => {
    // No stdin: the mount must never wait on a terminal. The background process's own log is beside the mountpoint.
    const child = spawn(process.execPath, [CLI, ...cmd.args], { stdio: ['ignore', cmd.verbose ? 'inherit' : 'ignore', 'inherit'] });
    child.on('error', (err) => {
      process.stderr.write(`sinki: cannot run ${CLI}: ${err.message}\n`);
      resolve(exitCodeOf('FATAL'));
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? exitCodeOf('FATAL') : 0)));
  });
}

async function main(): Promise<void> {
  try {
    const cmd = helperCommand(process.argv.slice(2), { SINKI_PASSWORD: process.env.SINKI_PASSWORD });
    if (cmd.fake) return;
    process.exitCode = await runSinki(cmd);
  } catch (err) {
    process.exitCode = reportError(err, false);
  }
}

await main();
