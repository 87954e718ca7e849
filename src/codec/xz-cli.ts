import { spawn } from 'node:child_process';
import { childEnv } from '../sys/child-env.js';
import { SinkiError } from '../errors.js';
import type { XzEngine } from './xz.js';
import { ExactLengthSink, assertExpectedLength, assertPreset, assertXzCrc64Header, corruptXz } from './xz-format.js';

interface XzRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  /** Killed by us because `onPiece` refused more output. */
  stoppedEarly: boolean;
}

/** The xz command-line tool, one child process per call (liblzma of the system, a core per process). */
export function xzCliEngine(command = 'xz'): XzEngine {
  return {
    name: 'xz-cli',
    async compress(data, preset) {
      assertPreset(preset);
      const pieces: Buffer[] = [];
      const run = await runXz(command, ['-z', '-c', `-${preset}`, '--format=xz', '--check=crc64', '-T1'], data, (p) => {
        pieces.push(p);
        return true;
      });
      if (run.code !== 0) throw new SinkiError('FATAL', `xz -z failed: ${describe(run)}`);
      return Buffer.concat(pieces);
    },
    async decompress(data, expectedLength) {
      assertExpectedLength(expectedLength);
      assertXzCrc64Header(data);
      const sink = new ExactLengthSink(expectedLength);
      // xz -d rejects trailing garbage and a bad CRC64 (it verifies the check by default).
      const run = await runXz(command, ['-d', '-c', '--format=xz'], data, (p) => sink.push(p));
      if (run.code !== 0 && !run.stoppedEarly) throw corruptXz(describe(run));
      return sink.finish();
    },
  };
}

function describe(run: XzRun): string {
  const why = run.stderr.trim().split('\n')[0] ?? '';
  return why || (run.signal ? `killed by ${run.signal}` : `exit code ${run.code}`);
}

/**
 * Pipes `input` through xz. When `onPiece` returns false the child is killed (output longer than
 * expected). Resolves with how it ended; rejects only when xz cannot be started at all.
 */
function runXz(command: string, args: string[], input: Buffer, onPiece: (piece: Buffer) => boolean): Promise<XzRun> {
  return new Promise<XzRun>((resolve, reject) => {
    // XZ_OPT / XZ_DEFAULTS from the environment could change the format or memory limit under us.
    const env = childEnv({ XZ_OPT: '', XZ_DEFAULTS: '' });
    const child = spawn(command, ['-q', ...args], { stdio: ['pipe', 'pipe', 'pipe'], env });
    const stderr: Buffer[] = [];
    let stoppedEarly = false;
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') {
        reject(new SinkiError('FATAL', `xz command not found ("${command}"); install xz-utils or pick another xz engine`, { cause: err }));
      } else {
        reject(new SinkiError('FATAL', `cannot run ${command}: ${err.message}`, { cause: err }));
      }
    });
    child.stdout.on('data', (piece: Buffer) => {
      if (stoppedEarly) return;
      if (!onPiece(piece)) {
        stoppedEarly = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (piece: Buffer) => stderr.push(piece));
    // xz may exit (bad input) before reading all of stdin: EPIPE is expected then, its exit code tells why.
    child.stdin.on('error', () => {});
    child.once('close', (code, signal) => {
      resolve({ code, signal, stderr: Buffer.concat(stderr).toString('utf8'), stoppedEarly });
    });
    child.stdin.end(input);
  });
}
