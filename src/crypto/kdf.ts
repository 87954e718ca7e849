import { pbkdf2, randomBytes, scrypt } from 'node:crypto';
import { promisify } from 'node:util';
import { SinkiError } from '../errors.js';

const pbkdf2Async = promisify(pbkdf2);
const scryptAsync = promisify(scrypt) as (pw: Buffer | string, salt: Buffer | string, len: number, opts: object) => Promise<Buffer>;

export type KdfParams =
  | { name: 'pbkdf2'; hash: 'sha256'; iterations: number; salt: string }
  | { name: 'scrypt'; N: number; r: number; p: number; salt: string };

export type KdfName = KdfParams['name'];
/** The first is the default for new keys: scrypt is memory-hard (node:crypto has no Argon2 before Node 24). */
export const KDF_NAMES: readonly KdfName[] = ['scrypt', 'pbkdf2'];
export const DEFAULT_KDF: KdfName = 'scrypt';
export const DERIVED_KEY_LENGTH = 32;

const MiB = 1024 * 1024;

/**
 * Floors for new keys (OWASP's 2023 figure for PBKDF2-HMAC-SHA256; scrypt at 32 MiB). Calibration
 * never goes below them, and a fixed count below them needs --insecure-kdf.
 */
export const PBKDF2_MIN_ITERATIONS = 600_000;
export const SCRYPT_MIN_N = 2 ** 15;
/** scrypt keys are made with r = 8, p = 1 and at most 256 MiB (N = 2^18). */
export const SCRYPT_R = 8;
export const SCRYPT_MAX_N_NEW = 2 ** 18;
/** What --insecure-kdf still refuses (test stores; the old absolute minima). */
export const PBKDF2_INSECURE_MIN = 1_000;
export const SCRYPT_INSECURE_MIN_N = 2 ** 10;

/**
 * Caps for opening a key file. Anyone who can write to a store can add a key file (its checksum is
 * not a secret), and every key file may be tried, so its KDF parameters are bounded: about 10 s on
 * a slow machine each. On a Xeon with SHA extensions PBKDF2-SHA256 runs ~5 M iterations/s and
 * scrypt N = 2^19, r = 8 takes 1.3 s; a Raspberry Pi 4 class CPU is 5 to 10 times slower. So 10 M
 * iterations (2 s there) is above what a 1 s calibration gave on fast machines, and scrypt at most
 * 512 MiB (128·N·r) and N·r·p ≤ 2^22 (N = 2^19 at r = 8) is above any scrypt key sinki made at 1 s.
 */
export const PBKDF2_MAX_ITERATIONS = 10_000_000;
export const SCRYPT_MAX_MEMORY = 512 * MiB;
export const SCRYPT_MAX_WORK = 2 ** 22;

export type KdfCost = { targetMs: number } | { iterations: number };

export interface KdfChoice {
  name: KdfName;
  cost: KdfCost;
  /** Allow a fixed count below the floors (down to the insecure minima). */
  insecure?: boolean;
}

/** Bytes of memory scrypt with these parameters allocates (its V array). */
export const scryptMemory = (N: number, r: number): number => 128 * N * r;

export async function deriveFromPassword(password: Buffer, params: KdfParams): Promise<Buffer> {
  const beyond = kdfBeyondLimits(params);
  if (beyond) throw new SinkiError('CORRUPT', `refusing KDF parameters ${beyond}`);
  const salt = Buffer.from(params.salt, 'base64');
  if (params.name === 'pbkdf2') return pbkdf2Async(password, salt, params.iterations, DERIVED_KEY_LENGTH, 'sha256');
  return scryptAsync(password, salt, DERIVED_KEY_LENGTH, scryptOptions(params.N, params.r, params.p));
}

function scryptOptions(N: number, r: number, p: number): object {
  // node:crypto refuses more than 32 MiB unless maxmem is raised; the caps above bound N and r.
  return { N, r, p, maxmem: scryptMemory(N, r) + 128 * r * p + 32 * MiB };
}

/**
 * Chooses parameters for a new key: a fixed count (PBKDF2 iterations, or scrypt N), or one measured
 * to take about targetMs here, never below the floors nor above what sinki opens.
 */
export async function chooseKdfParams(choice: KdfChoice): Promise<KdfParams> {
  checkKdfChoice(choice);
  const { name, cost } = choice;
  const salt = randomBytes(32).toString('base64');
  if (name === 'pbkdf2') {
    if ('iterations' in cost) return { name, hash: 'sha256', iterations: cost.iterations, salt };
    const perMs = await measurePbkdf2PerMs();
    return { name, hash: 'sha256', iterations: clamp(Math.round(perMs * cost.targetMs), PBKDF2_MIN_ITERATIONS, PBKDF2_MAX_ITERATIONS), salt };
  }
  if ('iterations' in cost) return { name, N: cost.iterations, r: SCRYPT_R, p: 1, salt };
  return { name, N: await calibrateScryptN(cost.targetMs), r: SCRYPT_R, p: 1, salt };
}

/** A fixed count must lie between the floor (the insecure minimum with the override) and what sinki makes. */
export function checkKdfChoice(choice: KdfChoice): void {
  const { name, cost } = choice;
  if (!('iterations' in cost)) return;
  const lower = choice.insecure ? '' : ' (lower only with --insecure-kdf)';
  if (name === 'pbkdf2') {
    const min = choice.insecure ? PBKDF2_INSECURE_MIN : PBKDF2_MIN_ITERATIONS;
    if (!Number.isInteger(cost.iterations) || cost.iterations < min || cost.iterations > PBKDF2_MAX_ITERATIONS) {
      throw new SinkiError('USAGE', `--kdf-iterations must be an integer from ${min} to ${PBKDF2_MAX_ITERATIONS} for pbkdf2${lower}`);
    }
    return;
  }
  const min = choice.insecure ? SCRYPT_INSECURE_MIN_N : SCRYPT_MIN_N;
  if (!isPowerOfTwo(cost.iterations) || cost.iterations < min || cost.iterations > SCRYPT_MAX_N_NEW) {
    throw new SinkiError('USAGE', `for scrypt, --kdf-iterations is N: a power of two from ${min} to ${SCRYPT_MAX_N_NEW}${lower}`);
  }
}

/** True when params are below the floors for new keys (made with --insecure-kdf, or by an older sinki). */
export function belowKdfFloor(params: KdfParams): boolean {
  return params.name === 'pbkdf2' ? params.iterations < PBKDF2_MIN_ITERATIONS : params.N < SCRYPT_MIN_N;
}

const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));
const isPowerOfTwo = (x: unknown): boolean => typeof x === 'number' && Number.isSafeInteger(x) && x >= 2 && 2 ** Math.round(Math.log2(x)) === x;

async function measurePbkdf2PerMs(): Promise<number> {
  const probe = 50_000;
  const start = performance.now();
  await pbkdf2Async('calibration', 'salt', probe, DERIVED_KEY_LENGTH, 'sha256');
  const ms = Math.max(1, performance.now() - start);
  return probe / ms;
}

/** The largest N from the floor to 256 MiB that takes at most about targetMs here (time doubles with N). */
async function calibrateScryptN(targetMs: number): Promise<number> {
  let N = SCRYPT_MIN_N;
  const start = performance.now();
  await scryptAsync('calibration', 'salt', DERIVED_KEY_LENGTH, scryptOptions(N, SCRYPT_R, 1));
  let ms = Math.max(1, performance.now() - start);
  while (ms * 2 <= targetMs && N < SCRYPT_MAX_N_NEW) {
    N *= 2;
    ms *= 2;
  }
  return N;
}

export function describeKdf(params: KdfParams): string {
  if (params.name === 'pbkdf2') return `PBKDF2-SHA256, ${params.iterations} iterations`;
  return `scrypt N=${params.N} r=${params.r} p=${params.p}, ${formatMiB(scryptMemory(params.N, params.r))}`;
}

const formatMiB = (bytes: number): string => `${Math.round((bytes / MiB) * 10) / 10} MiB`;

/** The shape of KDF parameters in a key file: whatever passes can be handed to node:crypto (see kdfBeyondLimits for the cost). */
export function validateKdfParams(value: unknown): value is KdfParams {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  if (typeof v.salt !== 'string') return false;
  const within = (x: unknown, max: number): boolean => Number.isInteger(x) && (x as number) >= 1 && (x as number) <= max;
  if (v.name === 'pbkdf2') return v.hash === 'sha256' && within(v.iterations, 2 ** 31 - 1);
  if (v.name === 'scrypt') return within(v.N, 2 ** 40) && isPowerOfTwo(v.N) && within(v.r, 2 ** 20) && within(v.p, 2 ** 20);
  return false;
}

/** Why opening with these parameters is refused (they cost more than sinki spends on one key file), or null. */
export function kdfBeyondLimits(params: KdfParams): string | null {
  if (params.name === 'pbkdf2') {
    return params.iterations > PBKDF2_MAX_ITERATIONS ? `${params.iterations} PBKDF2 iterations, above the limit of ${PBKDF2_MAX_ITERATIONS}` : null;
  }
  const { N, r, p } = params;
  if (scryptMemory(N, r) > SCRYPT_MAX_MEMORY)
    return `scrypt N=${N} r=${r}: ${formatMiB(scryptMemory(N, r))} of memory, above the limit of ${formatMiB(SCRYPT_MAX_MEMORY)}`;
  if (N * r * p > SCRYPT_MAX_WORK) return `scrypt N=${N} r=${r} p=${p}: N·r·p above the limit of ${SCRYPT_MAX_WORK}`;
  return null;
}

/**
 * A rough, comparable cost of deriving with these parameters (PBKDF2 iterations; scrypt N·r·p
 * weighs about 1.5 of them: 2^21 in 0.66 s against 5 M iterations in 1 s, measured on one machine).
 * Key files are tried cheapest first.
 */
export function kdfWork(params: KdfParams): number {
  return params.name === 'pbkdf2' ? params.iterations : 1.5 * params.N * params.r * params.p;
}
