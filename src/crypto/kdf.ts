import { pbkdf2, randomBytes, scrypt } from 'node:crypto';
import { promisify } from 'node:util';
import { SinkiError } from '../errors.js';

const pbkdf2Async = promisify(pbkdf2);
const scryptAsync = promisify(scrypt) as (pw: Buffer, salt: Buffer, len: number, opts: object) => Promise<Buffer>;

export type KdfParams =
  | { name: 'pbkdf2'; hash: 'sha256'; iterations: number; salt: string }
  | { name: 'scrypt'; N: number; r: number; p: number; salt: string };

export type KdfName = KdfParams['name'];
export const KDF_NAMES: readonly KdfName[] = ['pbkdf2', 'scrypt'];

/** Calibration never goes below these, whatever the target time. */
export const PBKDF2_MIN_ITERATIONS = 100_000;
export const SCRYPT_MIN_LOG_N = 14;
/** A fixed count below this is refused: it would make a password guessable. */
export const PBKDF2_ABSOLUTE_MIN = 1_000;
export const DERIVED_KEY_LENGTH = 32;

export type KdfCost = { targetMs: number } | { iterations: number };

export async function deriveFromPassword(password: Buffer, params: KdfParams): Promise<Buffer> {
  const salt = Buffer.from(params.salt, 'base64');
  if (params.name === 'pbkdf2') return pbkdf2Async(password, salt, params.iterations, DERIVED_KEY_LENGTH, 'sha256');
  return scryptAsync(password, salt, DERIVED_KEY_LENGTH, scryptOptions(params.N, params.r, params.p));
}

function scryptOptions(N: number, r: number, p: number): object {
  return { N, r, p, maxmem: 256 * N * r + 32 * 1024 * 1024 };
}

/** Chooses parameters: a fixed PBKDF2 count, or a count / scrypt N measured to take about targetMs here. */
export async function chooseKdfParams(name: KdfName, cost: KdfCost): Promise<KdfParams> {
  const salt = randomBytes(32).toString('base64');
  if (name === 'pbkdf2') {
    if ('iterations' in cost) {
      if (!Number.isInteger(cost.iterations) || cost.iterations < PBKDF2_ABSOLUTE_MIN) {
        throw new SinkiError('USAGE', `--kdf-iterations must be an integer of at least ${PBKDF2_ABSOLUTE_MIN}`);
      }
      return { name, hash: 'sha256', iterations: cost.iterations, salt };
    }
    const perMs = await measurePbkdf2PerMs();
    return { name, hash: 'sha256', iterations: Math.max(PBKDF2_MIN_ITERATIONS, Math.round(perMs * cost.targetMs)), salt };
  }
  if ('iterations' in cost) {
    const logN = Math.round(Math.log2(cost.iterations));
    if (2 ** logN !== cost.iterations || logN < 10 || logN > 22) throw new SinkiError('USAGE', 'for scrypt, --kdf-iterations is N: a power of two from 1024 to 4194304');
    return { name, N: cost.iterations, r: 8, p: 1, salt };
  }
  return { name, N: 2 ** (await calibrateScryptLogN(cost.targetMs)), r: 8, p: 1, salt };
}

async function measurePbkdf2PerMs(): Promise<number> {
  const probe = 50_000;
  const start = performance.now();
  await pbkdf2Async('calibration', 'salt', probe, DERIVED_KEY_LENGTH, 'sha256');
  const ms = Math.max(1, performance.now() - start);
  return probe / ms;
}

async function calibrateScryptLogN(targetMs: number): Promise<number> {
  let logN = SCRYPT_MIN_LOG_N;
  const start = performance.now();
  await scryptAsync(Buffer.from('calibration'), Buffer.from('salt'), 32, scryptOptions(2 ** logN, 8, 1));
  let ms = Math.max(1, performance.now() - start);
  while (ms * 2 <= targetMs && logN < 22) {
    logN += 1;
    ms *= 2;
  }
  return logN;
}

export function describeKdf(params: KdfParams): string {
  return params.name === 'pbkdf2' ? `PBKDF2-SHA256, ${params.iterations} iterations` : `scrypt N=${params.N} r=${params.r} p=${params.p}`;
}

export function validateKdfParams(value: unknown): value is KdfParams {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  if (typeof v.salt !== 'string') return false;
  const within = (x: unknown, max: number): boolean => Number.isInteger(x) && (x as number) >= 1 && (x as number) <= max;
  if (v.name === 'pbkdf2') return v.hash === 'sha256' && within(v.iterations, 2 ** 31 - 1);
  if (v.name === 'scrypt') return within(v.N, 2 ** 24) && within(v.r, 64) && within(v.p, 64);
  return false;
}
