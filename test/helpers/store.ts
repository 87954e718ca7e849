import { LocalBackend } from '../../src/backend/local.js';
import { Repository } from '../../src/repo/repository.js';
import { DEFAULT_NO_COMPRESS_EXT, DEFAULTS, type StoreParams } from '../../src/repo/store-config.js';
import type { KdfChoice } from '../../src/crypto/kdf.js';

/** The parameters `sinki init` uses without options. */
export const DEFAULT_PARAMS: StoreParams = {
  cipher: DEFAULTS.cipher,
  chunkSize: DEFAULTS.chunkSize,
  cdc: DEFAULTS.cdc,
  packSize: DEFAULTS.packSize,
  compression: { preset: DEFAULTS.preset, minCompressSize: DEFAULTS.minCompressSize, noCompressExt: DEFAULT_NO_COMPRESS_EXT },
};

/** 1000 PBKDF2 iterations: below the floor for real keys, allowed with the override (as --insecure-kdf). */
export const FAST_KDF: KdfChoice = { name: 'pbkdf2', cost: { iterations: 1000 }, insecure: true };

/** A new store at `path`, opened in this process, with a fast KDF; `format` makes an older store format. */
export function initRepo(path: string, password: string, format?: number): Promise<Repository> {
  return Repository.init(new LocalBackend(path), Buffer.from(password), DEFAULT_PARAMS, FAST_KDF, format === undefined ? {} : { format });
}
