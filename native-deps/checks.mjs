// Checks of the native parts Sinki needs. Used by native-deps/install.sh (after npm install)
// and by `sinki doctor`. Plain JavaScript so it runs before the TypeScript build.
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';

const run = promisify(execFile);
const require = createRequire(import.meta.url);
const APT = 'apt-get update && apt-get install -y';
export const MIN_RCLONE = [1, 50];

async function version(cmd, args, pattern) {
  try {
    const { stdout, stderr } = await run(cmd, args, { timeout: 10_000 });
    const m = pattern.exec(stdout + stderr);
    return m ? m[1] : 'unknown version';
  } catch {
    return null;
  }
}

async function which(cmd) {
  try {
    const { stdout } = await run('/bin/sh', ['-c', `command -v ${cmd}`]);
    return stdout.trim() || null;
  } catch {
    return null;
  }
}

export async function runChecks() {
  const checks = [];
  const add = (name, ok, detail, fix, required = true) => checks.push({ name, ok, detail, ...(ok ? {} : { fix }), required });

  const major = Number(process.versions.node.split('.')[0]);
  add('node', major >= 20, `v${process.versions.node}`, 'install Node.js 20 or newer');

  let devFuse = existsSync('/dev/fuse');
  if (devFuse) {
    try {
      accessSync('/dev/fuse', constants.R_OK | constants.W_OK);
    } catch {
      devFuse = false;
    }
  }
  add('/dev/fuse', devFuse, devFuse ? 'present and usable' : 'missing or not accessible', 'load the fuse kernel module (modprobe fuse) or, in a container, pass --device /dev/fuse --cap-add SYS_ADMIN', false);

  const fusermount = (await which('fusermount')) ?? (await which('fusermount3'));
  add('fusermount', Boolean(fusermount), fusermount ?? 'not found', `${APT} fuse3`, false);

  try {
    require('fuse-native');
    add('fuse-native', true, 'binary loads (libfuse 2)');
  } catch (err) {
    add('fuse-native', false, `does not load: ${String(err.message).split('\n')[0]}`, `${APT} libfuse2`);
  }

  try {
    const lzma = require('lzma-native');
    add('lzma-native', true, `binary loads (liblzma ${lzma.versionString()})`);
  } catch (err) {
    add('lzma-native', false, `does not load: ${String(err.message).split('\n')[0]}`, 'npm ci (with install scripts allowed for lzma-native)');
  }

  const here = new URL('.', import.meta.url).pathname;
  try {
    const sys = require(`${here}build/lzma-native-system/index.js`);
    add('lzma-native (system liblzma)', true, `built, liblzma ${sys.versionString()} (the faster xz engine)`, undefined, false);
  } catch {
    add('lzma-native (system liblzma)', false, 'not built; the shipped liblzma 5.2.3 is used (slower)', 'apt-get install liblzma-dev && native-deps/build-lzma-system.sh', false);
  }
  try {
    require(`${here}build/fuse-native-patched/index.js`);
    add('fuse-native (utimens patch)', true, 'built: the mount keeps modification times', undefined, false);
  } catch {
    add('fuse-native (utimens patch)', false, 'not built: cp -a into the mount loses modification times', 'native-deps/build-fuse-native-patched.sh', false);
  }

  const xz = await version('xz', ['--version'], /xz \(XZ Utils\) (\S+)/);
  add('xz', Boolean(xz), xz ? `XZ Utils ${xz}` : 'not found', `${APT} xz-utils`, false);

  const rclone = await version('rclone', ['version'], /rclone v(\S+)/);
  let rcloneOk = Boolean(rclone);
  if (rclone) {
    const [a, b] = rclone.split(/[.-]/).map(Number);
    rcloneOk = a > MIN_RCLONE[0] || (a === MIN_RCLONE[0] && b >= MIN_RCLONE[1]);
  }
  add('rclone', rcloneOk, rclone ? `v${rclone}${rcloneOk ? '' : ` (need ${MIN_RCLONE.join('.')} or newer)`}` : 'not found', `${APT} rclone`, false);
  return checks;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const checks = await runChecks();
  for (const c of checks) console.log(`${c.ok ? 'ok  ' : c.required ? 'FAIL' : 'warn'}  ${c.name}: ${c.detail}${c.ok ? '' : `\n      fix: ${c.fix}`}`);
  process.exit(checks.some((c) => c.required && !c.ok) ? 1 : 0);
}
