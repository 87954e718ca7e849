import { promises as fs, constants as fsConstants } from 'node:fs';
import { fileURLToPath } from 'node:url';
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

const MOUNT_HELPER = '/sbin/mount.fuse.sinki';

/** mount(8) runs /sbin/mount.fuse.sinki for `-t fuse.sinki` and fstab lines: is it there, and is it this installation's? */
async function mountHelperCheck(): Promise<Check> {
  const ours = fileURLToPath(new URL('./mount-helper.js', import.meta.url));
  const fix = `ln -sfn ${ours} ${MOUNT_HELPER} (as root; native-deps/install.sh does it)`;
  const target = await fs.realpath(MOUNT_HELPER).catch(() => null);
  const name = 'mount.fuse.sinki';
  if (!target) return { name, ok: false, detail: `${MOUNT_HELPER} missing: mount -t fuse.sinki and fstab lines will not work`, fix, required: false };
  if (
    !(await fs.access(target, fsConstants.X_OK).then(
      () => true,
      () => false,
    ))
  )
    return { name, ok: false, detail: `${MOUNT_HELPER} -> ${target} is not executable`, fix: `chmod +x ${target}`, required: false };
  if (target !== (await fs.realpath(ours).catch(() => ours)))
    return { name, ok: false, detail: `${MOUNT_HELPER} runs ${target}, not this installation's ${ours}`, fix, required: false };
  return { name, ok: true, detail: `${MOUNT_HELPER} -> ${target}`, required: false };
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
        checks.push(await mountHelperCheck());
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
