import type { Command } from 'commander';
import { SinkiError } from '../errors.js';
import { CIPHERS, isCipherName } from '../crypto/aead.js';
import {
  belowKdfFloor,
  checkKdfChoice,
  DEFAULT_KDF,
  describeKdf,
  KDF_NAMES,
  PBKDF2_MAX_ITERATIONS,
  PBKDF2_MIN_ITERATIONS,
  SCRYPT_MAX_N_NEW,
  SCRYPT_MIN_N,
  type KdfChoice,
  type KdfCost,
  type KdfName,
  type KdfParams,
} from '../crypto/kdf.js';
import { parseExtList } from '../codec/policy.js';
import { DEFAULT_NO_COMPRESS_EXT, DEFAULTS, validateStoreParams, type StoreParams } from '../repo/store-config.js';
import { formatBytes, parsePositiveInt, parseSize } from '../units.js';
import { action } from './action.js';
import { printJson, warnLine } from './output.js';

interface InitFlags {
  cipher: string;
  kdf: string;
  kdfMs?: string;
  kdfIterations?: string;
  insecureKdf?: boolean;
  chunkSize?: string;
  packSize?: string;
  preset?: string;
  compressExt: string | boolean;
  minCompressSize?: string;
  json?: boolean;
}

export const DEFAULT_KDF_MS = 1000;
/** Past about 10 s calibration would only meet the caps of kdf.ts. */
export const MAX_KDF_MS = 10_000;

export interface KdfFlags {
  kdf: string;
  kdfMs?: string;
  kdfIterations?: string;
  insecureKdf?: boolean;
}

export function parseKdf(flags: KdfFlags): KdfChoice {
  if (!(KDF_NAMES as readonly string[]).includes(flags.kdf)) throw new SinkiError('USAGE', `--kdf must be one of ${KDF_NAMES.join(', ')}`);
  if (flags.kdfMs !== undefined && flags.kdfIterations !== undefined) throw new SinkiError('USAGE', 'give --kdf-ms or --kdf-iterations, not both');
  const cost: KdfCost =
    flags.kdfIterations !== undefined
      ? { iterations: parsePositiveInt(flags.kdfIterations, '--kdf-iterations', 1) }
      : { targetMs: flags.kdfMs !== undefined ? parsePositiveInt(flags.kdfMs, '--kdf-ms', 1, MAX_KDF_MS) : DEFAULT_KDF_MS };
  const choice = { name: flags.kdf as KdfName, cost, insecure: Boolean(flags.insecureKdf) };
  checkKdfChoice(choice);
  return choice;
}

/** The options of every command that makes a key (init, key add, key passwd). */
export function kdfOptions(cmd: Command): Command {
  return cmd
    .option('--kdf <name>', 'password key derivation: scrypt (memory-hard) or pbkdf2 (PBKDF2-SHA256)', DEFAULT_KDF)
    .option(
      '--kdf-ms <ms>',
      `calibrate the KDF to take about this long here (default ${DEFAULT_KDF_MS}, at most ${MAX_KDF_MS}): scrypt N from ${SCRYPT_MIN_N} to ${SCRYPT_MAX_N_NEW} (r=8, up to 256 MiB), or PBKDF2 iterations from ${PBKDF2_MIN_ITERATIONS} to ${PBKDF2_MAX_ITERATIONS}`,
    )
    .option('--kdf-iterations <n>', 'a fixed scrypt N (a power of two) or PBKDF2 iteration count instead of calibrating, within the same bounds')
    .option(
      '--insecure-kdf',
      'allow --kdf-iterations below those floors (scrypt N 1024, PBKDF2 1000): only for throwaway stores, such a password is cheap to guess',
    );
}

/** The loud line a key below the floors gets (made with --insecure-kdf). */
export function warnIfWeakKey(id: string, kdf: KdfParams): void {
  if (belowKdfFloor(kdf))
    warnLine(
      `--insecure-kdf: key ${id} uses ${describeKdf(kdf)}, below the floor for new keys; a copy of the store can be attacked with fast password guesses`,
    );
}

export function registerInit(program: Command): void {
  kdfOptions(
    program
      .command('init')
      .description('create a new encrypted store at --store')
      .option('--cipher <name>', `blob cipher: ${CIPHERS.join(', ')}`, DEFAULTS.cipher),
  )
    .option('--chunk-size <size>', 'split size of files written through the mount', '4M')
    .option('--pack-size <size>', 'target size of pack files (the unit of upload)', '16M')
    .option('--preset <n>', 'xz preset 0-9 (higher: smaller and slower)', String(DEFAULTS.preset))
    .option('--no-compress-ext <list>', `extensions stored without compression (default: ${DEFAULT_NO_COMPRESS_EXT.join(',')})`)
    .option('--min-compress-size <bytes>', 'blobs smaller than this are not compressed', String(DEFAULTS.minCompressSize))
    .option('--json', 'print as JSON')
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
        const repo = await Repository.init(ctx.backend(), password, params, kdf, { keys: { memory: ctx.keyMemory() } });
        const key = repo.unlockedKey.file;
        if (flags.json)
          printJson({
            type: 'init',
            id: repo.config.id,
            format: repo.config.format,
            location: repo.backend.location,
            cipher: params.cipher,
            key_id: repo.unlockedKey.id,
            kdf: key.kdf.name,
            chunk_size: params.chunkSize,
            pack_size: params.packSize,
            preset: params.compression.preset,
          });
        else
          process.stdout.write(
            `created store ${repo.config.id} (format ${repo.config.format}) at ${repo.backend.location}\n` +
              `  cipher ${params.cipher}, key ${describeKdf(key.kdf)}\n` +
              `  split size ${formatBytes(params.chunkSize)}, packs ${formatBytes(params.packSize)}, xz preset ${params.compression.preset}\n` +
              `keep the password safe: without it the data cannot be recovered\n`,
          );
        warnIfWeakKey(repo.unlockedKey.id, key.kdf);
      }),
    );
}
