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
  errno: number;
}

/** One table: error code → process exit code and FUSE errno (negated by the mount). */
export const CODE_TABLE: Record<ErrorCode, CodeInfo> = {
  USAGE: { exit: 2, errno: 22 /* EINVAL */ },
  FATAL: { exit: 1, errno: 5 /* EIO */ },
  PARTIAL: { exit: 3, errno: 5 },
  NOT_A_STORE: { exit: 10, errno: 5 },
  LOCKED: { exit: 11, errno: 16 /* EBUSY */ },
  WRONG_PASSWORD: { exit: 12, errno: 13 /* EACCES */ },
  CORRUPT: { exit: 13, errno: 5 /* EIO */ },
  NOT_FOUND: { exit: 14, errno: 2 /* ENOENT */ },
  EXISTS: { exit: 15, errno: 17 /* EEXIST */ },
  NO_SPACE: { exit: 16, errno: 28 /* ENOSPC */ },
  NO_FUSE: { exit: 17, errno: 19 /* ENODEV */ },
  NO_RCLONE: { exit: 18, errno: 5 },
  RCLONE: { exit: 19, errno: 5 },
  IO: { exit: 1, errno: 5 },
};

export class SinkiError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'SinkiError';
  }
  get exitCode(): number {
    return CODE_TABLE[this.code].exit;
  }
}

export function isSinkiError(err: unknown, code?: ErrorCode): err is SinkiError {
  return err instanceof SinkiError && (code === undefined || err.code === code);
}

/** Maps a Node system error (ENOSPC, ENOENT, ...) onto a SinkiError; other errors pass through. */
export function fromSystemError(err: unknown, what: string): unknown {
  if (err instanceof SinkiError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new SinkiError('NO_SPACE', `no space left on device while writing ${what}`, { cause: err });
  if (code === 'ENOENT') return new SinkiError('NOT_FOUND', `${what}: not found`, { cause: err });
  if (code === 'EROFS') return new SinkiError('IO', `cannot write ${what}: the store is on a read-only file system`, { cause: err });
  return err;
}
