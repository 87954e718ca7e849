import type { Command } from 'commander';
import { SinkiError } from '../errors.js';
import { CIPHERS, isCipherName } from '../crypto/aead.js';
import { describeKdf, KDF_NAMES, type KdfCost, type KdfName } from '../crypto/kdf.js';
import { parseExtList } from '../codec/policy.js';
import { DEFAULT_NO_COMPRESS_EXT, DEFAULTS, validateStoreParams, type StoreParams } from '../repo/store-config.js';
import { formatBytes, parsePositiveInt, parseSize } from '../units.js';
import { action } from './action.js';

interface InitFlags {
  cipher: string;
  kdf: string;
  kdfMs?: string;
  kdfIterations?: string;
  chunkSize?: string;
  packSize?: string;
  preset?: string;
  compressExt: string | boolean;
  minCompressSize?: string;
}

export const DEFAULT_KDF_MS = 1000;

export function parseKdf(flags: { kdf: string; kdfMs?: string; kdfIterations?: string }): { name: KdfName; cost: KdfCost } {
  if (!(KDF_NAMES as readonly string[]).includes(flags.kdf)) throw new SinkiError('USAGE', `--kdf must be one of ${KDF_NAMES.join(', ')}`);
  if (flags.kdfMs !== undefined && flags.kdfIterations !== undefined) throw new SinkiError('USAGE', 'give --kdf-ms or --kdf-iterations, not both');
  const cost: KdfCost =
    flags.kdfIterations !== undefined
      ? { iterations: parsePositiveInt(flags.kdfIterations, '--kdf-iterations', 1) }
      : { targetMs: flags.kdfMs !== undefined ? parsePositiveInt(flags.kdfMs, '--kdf-ms', 1, 600_000) : DEFAULT_KDF_MS };
  return { name: flags.kdf as KdfName, cost };
}

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('create a new encrypted store at --store')
    .option('--cipher <name>', `blob cipher: ${CIPHERS.join(', ')}`, DEFAULTS.cipher)
    .option('--kdf <name>', 'password key derivation: pbkdf2 (PBKDF2-SHA256) or scrypt', 'pbkdf2')
    .option('--kdf-ms <ms>', `calibrate the KDF to take about this long here (default ${DEFAULT_KDF_MS}; floor 100000 PBKDF2 iterations)`)
    .option('--kdf-iterations <n>', 'fixed PBKDF2 iteration count (or scrypt N) instead of calibrating')
    .option('--chunk-size <size>', 'split size of files written through the mount', '4M')
    .option('--pack-size <size>', 'target size of pack files (the unit of upload)', '16M')
    .option('--preset <n>', 'xz preset 0-9 (higher: smaller and slower)', String(DEFAULTS.preset))
    .option('--no-compress-ext <list>', `extensions stored without compression (default: ${DEFAULT_NO_COMPRESS_EXT.join(',')})`)
    .option('--min-compress-size <bytes>', 'blobs smaller than this are not compressed', String(DEFAULTS.minCompressSize))
    .action(
      action(async (ctx, flags: InitFlags) => {
        if (!isCipherName(flags.cipher)) throw new SinkiError('USAGE', `--cipher must be one of ${CIPHERS.join(', ')}`);
        const kdf = parseKdf(flags);
        const params: StoreParams = {
          cipher: flags.cipher,
          chunkSize: parseSize(flags.chunkSize ?? '4M', '--chunk-size'),
          cdc: DEFAULTS.cdc,
          packSize: parseSize(flags.packSize ?? '16M', '--pack-size'),
          compression: {
            preset: parsePositiveInt(flags.preset ?? '1', '--preset', 0, 9),
            minCompressSize: parsePositiveInt(flags.minCompressSize ?? '120', '--min-compress-size'),
            noCompressExt: typeof flags.compressExt === 'string' ? parseExtList(flags.compressExt) : DEFAULT_NO_COMPRESS_EXT,
          },
        };
        validateStoreParams(params);
        const password = await ctx.password(true);
        const { Repository } = await import('../repo/repository.js');
        const repo = await Repository.init(ctx.backend(), password, params, kdf);
        const key = repo.unlockedKey.file;
        process.stdout.write(
          `created store ${repo.config.id} (format ${repo.config.format}) at ${repo.backend.location}\n` +
            `  cipher ${params.cipher}, key ${describeKdf(key.kdf)}\n` +
            `  split size ${formatBytes(params.chunkSize)}, packs ${formatBytes(params.packSize)}, xz preset ${params.compression.preset}\n` +
            `keep the password safe: without it the data cannot be recovered\n`,
        );
      }),
    );
}
