import { exitCodeOf, noSpaceError, SinkiError } from '../errors.js';

/** The exit code an error ends the command with (what reportError returns, without printing). */
export function errorExitCode(err: unknown): number {
  const noSpace = noSpaceError(err);
  if (noSpace) return noSpace.exitCode;
  if (err instanceof SinkiError) return err.exitCode;
  return exitCodeOf('FATAL');
}

/** One line per error on stderr, the stack only with --verbose; returns the exit code. */
export function reportError(err: unknown, verbose: boolean): number {
  const noSpace = noSpaceError(err);
  if (noSpace) {
    process.stderr.write(`sinki: ${noSpace.message}\n`);
    return noSpace.exitCode;
  }
  if (err instanceof SinkiError) {
    process.stderr.write(`sinki: ${err.message}\n`);
    if (verbose && err.stack) process.stderr.write(`${err.stack}\n`);
    return err.exitCode;
  }
  const e = err as Error | undefined;
  process.stderr.write(`sinki: unexpected error: ${e?.message ?? String(err)}\n`);
  if (verbose && e?.stack) process.stderr.write(`${e.stack}\n`);
  return exitCodeOf('FATAL');
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

export function warnLine(message: string): void {
  process.stderr.write(`sinki: warning: ${message}\n`);
}

/** Writes to stdout and waits until it is handed on; rejects (EPIPE) once the reader has gone, so a long output stops early. */
export function writeStdout(chunk: Buffer | string): Promise<void> {
  return new Promise((resolve, reject) => process.stdout.write(chunk, (err) => (err ? reject(err) : resolve())));
}
