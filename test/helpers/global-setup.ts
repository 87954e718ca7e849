import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Builds dist/ once per vitest run, so integration tests drive the CLI compiled from the current src/. */
export default async function setup(): Promise<void> {
  try {
    const outDir = process.env.SINKI_TEST_CLI ? ['--outDir', resolve(process.env.SINKI_TEST_CLI, '../..')] : [];
    await execFileAsync('npx', ['tsc', '-p', 'tsconfig.json', ...outDir], { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`build failed (npx tsc -p tsconfig.json):\n${e.stdout ?? ''}${e.stderr ?? ''}${e.message}`);
  }
}
