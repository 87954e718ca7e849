import type { Command } from 'commander';
import { EXIT_OK, exitCodeOf } from '../errors.js';
import { action } from './action.js';
import { printJson } from './output.js';

interface Check {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
  required: boolean;
}

interface ChecksModule {
  runChecks(): Promise<Check[]>;
}

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('check what sinki needs on this machine (FUSE, rclone, xz, native modules) and say how to fix what is missing')
    .option('--json', 'print as JSON')
    .action(
      action(async (_ctx, flags: { json?: boolean }) => {
        const mod = (await import(new URL('../../native-deps/checks.mjs', import.meta.url).href)) as ChecksModule;
        const checks = await mod.runChecks();
        const { defaultXzEngine } = await import('../codec/xz.js');
        checks.push({ name: 'xz engine', ok: true, detail: defaultXzEngine().name, required: false });
        if (flags.json) printJson(checks);
        else {
          for (const c of checks) {
            process.stdout.write(`${c.ok ? 'ok  ' : c.required ? 'FAIL' : 'warn'}  ${c.name}: ${c.detail}\n`);
            if (!c.ok && c.fix) process.stdout.write(`      fix: ${c.fix}\n`);
          }
        }
        return checks.some((c) => c.required && !c.ok) ? exitCodeOf('FATAL') : EXIT_OK;
      }),
    );
}
