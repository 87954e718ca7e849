import type { Command } from 'commander';
import { CliContext, type GlobalOptions } from './context.js';

/** Wraps a command body: builds the context from global flags and the environment; the body returns the exit code. */
export function action<A extends unknown[]>(body: (ctx: CliContext, ...args: A) => Promise<number | void>): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const command = args[args.length - 1] as Command;
    const globals = command.optsWithGlobals<GlobalOptions>();
    const ctx = new CliContext(globals, { SINKI_STORE: process.env.SINKI_STORE, SINKI_PASSWORD: process.env.SINKI_PASSWORD });
    const code = await body(ctx, ...(args.slice(0, -1) as A));
    process.exitCode = code ?? 0;
  };
}
