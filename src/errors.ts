import { constants } from 'node:os';

/** Every failure that crosses a layer is a SinkiError with one of these codes. */
export type ErrorCode =
  | 'USAGE'
  | 'FATAL'
  | 'PARTIAL'
  | 'NOT_A_STORE'
  | 'LOCKED'
  | 'WRONG_PASSWORD'
  | 'CORRUPT'
  | 'NOT_FOUND'
  | 'EXISTS'
  | 'NO_SPACE'
  | 'NO_FUSE'
  | 'NO_RCLONE'
  | 'RCLONE'
  | 'IO';

interface CodeInfo {
  exit: number;
  /** The FUSE errno, from os.constants.errno. */
  errno: number;
  /** What the exit code means, as the help and the README list it. */
  meaning: string;
}

const { errno } = constants;

/** One table: error code → process exit code and FUSE errno (negated by the mount). */
export const CODE_TABLE: Readonly<Record<ErrorCode, Readonly<CodeInfo>>> = {
  USAGE: { exit: 2, errno: errno.EINVAL, meaning: 'usage' },
  FATAL: { exit: 1, errno: errno.EIO, meaning: 'fatal error' },
  PARTIAL: { exit: 3, errno: errno.EIO, meaning: 'finished, but some files could not be read (backup) or restored' },
  NOT_A_STORE: { exit: 10, errno: errno.EIO, meaning: 'no store there' },
  LOCKED: { exit: 11, errno: errno.EBUSY, meaning: 'store locked' },
  WRONG_PASSWORD: { exit: 12, errno: errno.EACCES, meaning: 'wrong password' },
  CORRUPT: { exit: 13, errno: errno.EIO, meaning: 'damaged data or a store rolled back' },
  NOT_FOUND: { exit: 14, errno: errno.ENOENT, meaning: 'not found' },
  EXISTS: { exit: 15, errno: errno.EEXIST, meaning: 'already exists' },
  NO_SPACE: { exit: 16, errno: errno.ENOSPC, meaning: 'disk full' },
  NO_FUSE: { exit: 17, errno: errno.ENODEV, meaning: 'FUSE unavailable' },
  NO_RCLONE: { exit: 18, errno: errno.EIO, meaning: 'rclone missing' },
  RCLONE: { exit: 19, errno: errno.EIO, meaning: 'rclone failed' },
  IO: { exit: 1, errno: errno.EIO, meaning: 'fatal error' },
};

/** Success. */
export const EXIT_OK = 0;
/** Stopped by Ctrl-C or SIGTERM (128 + SIGINT, as shells report it). */
export const EXIT_INTERRUPTED = 128 + constants.signals.SIGINT;

export function exitCodeOf(code: ErrorCode): number {
  return CODE_TABLE[code].exit;
}

/** Every exit code once, in order, with its meaning: the list the help and the README show. */
export function exitCodeList(): Array<{ exit: number; meaning: string }> {
  const meanings = new Map<number, string>();
  for (const c of [{ exit: EXIT_OK, meaning: 'ok' }, ...Object.values(CODE_TABLE), { exit: EXIT_INTERRUPTED, meaning: 'interrupted' }]) {
    if (!meanings.has(c.exit)) meanings.set(c.exit, c.meaning); // FATAL and IO share exit 1
  }
  return [...meanings].sort(([a], [b]) => a - b).map(([exit, meaning]) => ({ exit, meaning }));
}

export class SinkiError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'SinkiError';
  }
  get exitCode(): number {
    return exitCodeOf(this.code);
  }
}

export function isSinkiError(err: unknown, code?: ErrorCode): err is SinkiError {
  return err instanceof SinkiError && (code === undefined || err.code === code);
}

const NO_SPACE_ERRNOS = new Set(['ENOSPC', 'EDQUOT']);

/**
 * A full disk or quota (ENOSPC, EDQUOT) as a NO_SPACE SinkiError, else null: the one place that
 * recognises it. `what` names what was being written, when known.
 */
export function noSpaceError(err: unknown, what?: string): SinkiError | null {
  const e = err as NodeJS.ErrnoException | undefined;
  if (!NO_SPACE_ERRNOS.has(e?.code ?? '')) return null;
  const message = what === undefined ? `no space left on device (${e!.message})` : `no space left on device while writing ${what}`;
  return new SinkiError('NO_SPACE', message, { cause: err });
}

/** Maps a Node system error (ENOSPC, ENOENT, ...) onto a SinkiError; other errors pass through. */
export function fromSystemError(err: unknown, what: string): unknown {
  if (err instanceof SinkiError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const noSpace = noSpaceError(err, what);
  if (noSpace) return noSpace;
  if (code === 'ENOENT') return new SinkiError('NOT_FOUND', `${what}: not found`, { cause: err });
  if (code === 'EROFS') return new SinkiError('IO', `cannot write ${what}: the store is on a read-only file system`, { cause: err });
  return err;
}
