import type { Command } from 'commander';
import { fromSystemError } from '../errors.js';
import { CliContext, type GlobalOptions } from './context.js';

const isBrokenPipe = (err: unknown): boolean => (err as NodeJS.ErrnoException | null)?.code === 'EPIPE';

/**
 * Wraps a command body: builds the context from global flags and the environment; the body returns
 * the exit code. A reader that goes away (`sinki cat ... | head`) ends the command quietly; any other
 * error writing stdout (a full disk behind `>`) is reported instead of crashing with a stack.
 */
export function action<A extends unknown[]>(body: (ctx: CliContext, ...args: A) => Promise<number | void>): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const command = args[args.length - 1] as Command;
    const globals = command.optsWithGlobals<GlobalOptions>();
    const env = process.env;
    const ctx = new CliContext(globals, { SINKI_STORE: env.SINKI_STORE, SINKI_PASSWORD: env.SINKI_PASSWORD, SINKI_RCLONE: env.SINKI_RCLONE, XDG_CACHE_HOME: env.XDG_CACHE_HOME });
    let stdoutError: unknown = null;
    const onStdoutError = (err: unknown): void => {
      stdoutError ??= err;
    };
    process.stdout.on('error', onStdoutError);
    let code: number | void;
    try {
      code = await body(ctx, ...(args.slice(0, -1) as A));
    } catch (err) {
      if (isBrokenPipe(err) || isBrokenPipe(stdoutError)) code = 0;
      else throw err;
    }
    if (stdoutError && !isBrokenPipe(stdoutError)) throw fromSystemError(stdoutError, 'standard output');
    process.exitCode = code ?? 0;
  };
}
