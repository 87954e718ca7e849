import type { Command } from 'commander';
import { SinkiError } from '../errors.js';
import { CONFIG_FILE } from '../repo/layout.js';
import { action } from './action.js';
import { printJson } from './output.js';

export function registerUnlock(program: Command): void {
  program
    .command('unlock')
    .description('remove stale locks (left by a process that died); --all removes every lock')
    .option('--all', 'remove all locks, also those of running processes')
    .option('--json', 'print as JSON')
    .action(
      action(async (ctx, flags: { all?: boolean; json?: boolean }) => {
        const backend = ctx.backend();
        // No password is needed to unlock, but it must be a store: never delete files from some other folder's locks/.
        if ((await backend.size(CONFIG_FILE).catch(() => null)) === null) {
          throw new SinkiError('NOT_A_STORE', `${backend.location} is not a sinki store (no ${CONFIG_FILE}); nothing to unlock`);
        }
        const { clearLocks } = await import('../repo/lock.js');
        const n = await clearLocks(backend, Boolean(flags.all));
        if (flags.json) printJson({ type: 'unlock', removed: n });
        else process.stdout.write(`removed ${n} lock${n === 1 ? '' : 's'}\n`);
      }),
    );
}
