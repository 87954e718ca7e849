import type { Command } from 'commander';
import { EXIT_OK, fromSystemError } from '../errors.js';
import { reportError } from './output.js';
import { configureProgress } from './progress.js';
import type { CliContext, GlobalOptions } from './context.js';

const isBrokenPipe = (err: unknown): boolean => (err as NodeJS.ErrnoException | null)?.code === 'EPIPE';

let commandRunning = false;

/**
 * Output written outside a command (`--help`, `--version`, usage errors): a reader that goes away
 * (`sinki --help | head`) is not an error; any other write error is one line and exit 1.
 */
export function watchStdoutOutsideCommands(): void {
  process.stdout.on('error', (err: unknown) => {
    if (commandRunning || isBrokenPipe(err)) return;
    process.exitCode = reportError(fromSystemError(err, 'standard output'), false);
  });
}

/**
 * Wraps a command body: builds the context from global flags and the environment (the store modules
 * load only once a command runs, never for `--help`); the body returns
 * the exit code. A reader that goes away (`sinki cat ... | head`) ends the command quietly; any other
 * error writing stdout (a full disk behind `>`) is reported instead of crashing with a stack.
 */
export function action<A extends unknown[]>(body: (ctx: CliContext, ...args: A) => Promise<number | void>): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const command = args[args.length - 1] as Command;
    const globals = command.optsWithGlobals<GlobalOptions>();
    configureProgress(globals);
    const env = process.env;
    const { CliContext } = await import('./context.js');
    const ctx = new CliContext(globals, {
      SINKI_STORE: env.SINKI_STORE,
      SINKI_PASSWORD: env.SINKI_PASSWORD,
      SINKI_NEW_PASSWORD: env.SINKI_NEW_PASSWORD,
      SINKI_RCLONE: env.SINKI_RCLONE,
      XDG_CACHE_HOME: env.XDG_CACHE_HOME,
      XDG_RUNTIME_DIR: env.XDG_RUNTIME_DIR,
    });
    let stdoutError: unknown = null;
    const onStdoutError = (err: unknown): void => {
      stdoutError ??= err;
    };
    process.stdout.on('error', onStdoutError);
    commandRunning = true;
    let code: number | void;
    try {
      code = await body(ctx, ...(args.slice(0, -1) as A));
    } catch (err) {
      if (isBrokenPipe(err) || isBrokenPipe(stdoutError)) code = 0;
      else throw err;
    }
    if (stdoutError && !isBrokenPipe(stdoutError)) throw fromSystemError(stdoutError, 'standard output');
    process.exitCode = code ?? EXIT_OK;
  };
}
