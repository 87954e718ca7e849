import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Builds dist/ when src/ is newer than the last build (`tsc -b`: a build that `npm run typecheck` or
 * native-deps/install.sh just made is not made again), so integration tests drive the CLI compiled
 * from the current src/. SINKI_TEST_CLI=<dir>/cli/main.js builds into <dir> instead.
 */
export default async function setup(): Promise<void> {
  const outDir = process.env.SINKI_TEST_CLI ? resolve(process.env.SINKI_TEST_CLI, '../..') : null;
  const args = outDir
    ? ['tsc', '-p', 'tsconfig.json', '--outDir', outDir, '--tsBuildInfoFile', resolve(outDir, 'tsconfig.tsbuildinfo')]
    : ['tsc', '-b', 'tsconfig.json'];
  try {
    await execFileAsync('npx', args, { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`build failed (npx ${args.join(' ')}):\n${e.stdout ?? ''}${e.stderr ?? ''}${e.message}`);
  }
}
