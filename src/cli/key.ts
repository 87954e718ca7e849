import type { Command } from 'commander';
import { describeKdf } from '../crypto/kdf.js';
import { keyPath } from '../repo/layout.js';
import { readPassword } from './password.js';
import { action } from './action.js';
import { kdfOptions, parseKdf, warnIfWeakKey, type KdfFlags } from './init.js';
import { printJson } from './output.js';

interface NewKeyFlags extends KdfFlags {
  newPasswordFile?: string;
}

function newKeyOptions(cmd: Command): Command {
  return kdfOptions(cmd.option('--new-password-file <file>', 'read the new password from a file (else SINKI_NEW_PASSWORD, else a prompt)'));
}

function newPassword(flags: NewKeyFlags): Promise<Buffer> {
  return readPassword({ passwordFile: flags.newPasswordFile, envPassword: process.env.SINKI_NEW_PASSWORD }, 'new password: ', true);
}

export function registerKey(program: Command): void {
  const key = program.command('key').description('manage the passwords (key files) of the store; data is never re-encrypted');

  key
    .command('list')
    .description('list key files')
    .option('--json', 'print as JSON')
    .action(
      action(async (ctx, flags: { json?: boolean }) =>
        ctx.withStore(
          'key list',
          false,
          async (repo) => {
            const keys = await repo.listKeys();
            if (flags.json)
              return printJson(
                keys.map((k) => ({
                  id: k.id,
                  current: k.id === repo.unlockedKey.id,
                  created: k.file?.created ?? null,
                  host: k.file?.host ?? null,
                  kdf: k.file?.kdf.name ?? null,
                  error: k.error ?? null,
                })),
              );
            for (const k of keys) {
              const mark = k.id === repo.unlockedKey.id ? '*' : ' ';
              process.stdout.write(
                k.file
                  ? `${mark} ${k.id}  ${k.file.created.slice(0, 19).replace('T', ' ')}  ${k.file.host}  ${describeKdf(k.file.kdf)}\n`
                  : `  ${k.id}  unusable: ${k.error}\n`,
              );
            }
          },
          { quietKeys: true },
        ),
      ),
    );

  newKeyOptions(key.command('add').description('add a password'))
    .option('--json', 'print as JSON')
    .action(
      action(async (ctx, flags: NewKeyFlags & { json?: boolean }) => {
        const kdf = parseKdf(flags);
        return ctx.withStore('key add', false, async (repo) => {
          const file = await repo.addKey(await newPassword(flags), kdf);
          if (flags.json) printJson({ type: 'key-add', id: file.id, kdf: file.kdf.name });
          else process.stdout.write(`added key ${file.id}\n`);
          warnIfWeakKey(file.id, file.kdf);
        });
      }),
    );

  key
    .command('remove')
    .description('remove a password (not the one in use, not the last)')
    .argument('<id>', 'key id, as "sinki key list" shows')
    .option('--json', 'print as JSON')
    .action(
      action(async (ctx, id: string, flags: { json?: boolean }) =>
        ctx.withStore('key remove', true, async (repo) => {
          await repo.removeKey(id);
          if (flags.json) printJson({ type: 'key-remove', id });
          else process.stdout.write(`removed key ${id}\n`);
        }),
      ),
    );

  newKeyOptions(key.command('passwd').description('change the password in use (adds the new key, then removes the old)'))
    .option('--json', 'print as JSON')
    .action(
      action(async (ctx, flags: NewKeyFlags & { json?: boolean }) => {
        const kdf = parseKdf(flags);
        return ctx.withStore('key passwd', true, async (repo) => {
          const file = await repo.addKey(await newPassword(flags), kdf);
          await repo.backend.remove(keyPath(repo.unlockedKey.id));
          await ctx.keyMemory().remember(repo.config.id, file.id);
          if (flags.json) printJson({ type: 'key-passwd', old_id: repo.unlockedKey.id, new_id: file.id, kdf: file.kdf.name });
          else process.stdout.write(`password changed (key ${repo.unlockedKey.id} replaced by ${file.id})\n`);
          warnIfWeakKey(file.id, file.kdf);
        });
      }),
    );
}
