import type { Command } from 'commander';
import { clearLocks } from '../repo/lock.js';
import { action } from './action.js';

export function registerUnlock(program: Command): void {
  program
    .command('unlock')
    .description('remove stale locks (left by a process that died); --all removes every lock')
    .option('--all', 'remove all locks, also those of running processes')
    .action(
      action(async (ctx, flags: { all?: boolean }) => {
        const n = await clearLocks(ctx.backend(), Boolean(flags.all));
        process.stdout.write(`removed ${n} lock${n === 1 ? '' : 's'}\n`);
      }),
    );
}
