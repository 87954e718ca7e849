import { spawn } from 'node:child_process';
import { childEnv } from '../sys/child-env.js';

export interface HookResult {
  /** null when it ran and exited 0. */
  problem: string | null;
}

/**
 * Runs `command` through /bin/sh with `input` (the summary JSON) on stdin; its output goes to our
 * stderr (stdout may be --json). Past `timeoutMs` its whole process group is killed. Never throws:
 * a hook that cannot run, fails or hangs is a problem to report, not the command's failure.
 */
export function runHook(command: string, input: string, timeoutMs: number): Promise<HookResult> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], { stdio: ['pipe', 2, 2], env: childEnv(), detached: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, timeoutMs);
    child.stdin!.on('error', () => undefined); // a hook that does not read its input
    child.stdin!.end(input);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ problem: `could not be started: ${err.message}` });
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) resolve({ problem: `did not finish within ${timeoutMs / 1000} s and was stopped` });
      else if (code === 0) resolve({ problem: null });
      else resolve({ problem: code !== null ? `exited with code ${code}` : `was killed by ${signal}` });
    });
  });
}
