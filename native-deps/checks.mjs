// Checks of the native parts Sinki needs. Used by native-deps/install.sh (after npm install)
// and by `sinki doctor`. Plain JavaScript so it runs before the TypeScript build.
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
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

/** The level the current patch gives the module (fuse-native-utimens.py's PATCH_LEVEL). */
export function fuseNativePatchLevel() {
  const patch = readFileSync(new URL('fuse-native-utimens.py', import.meta.url), 'utf8');
  return Number(/^PATCH_LEVEL = (\d+)$/m.exec(patch)?.[1]);
}

/** Is the patched fuse-native in `buildDir` built from the current patch, and what is lost if not. */
export function fuseNativeTimesCheck(buildDir) {
  const level = fuseNativePatchLevel();
  let built = null;
  try {
    built = createRequire(`${buildDir}/`)(`${buildDir}/index.js`).SINKI_PATCH_LEVEL ?? 1;
  } catch {
    // not built, or does not load
  }
  if (built === level) return { ok: true, detail: 'built: the mount keeps modification times set by cp -a, rsync -a and touch -d, to the nanosecond' };
  const why = built === null ? 'not built' : `built from an older patch (level ${built}, want ${level}), so not used`;
  const lost = 'mtimes set by cp -a, rsync -a and touch -d are lost (the atime is kept instead) and all times are cut to whole milliseconds';
  return { ok: false, detail: `${why}: the shipped fuse-native serves mounts; ${lost}` };
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
  const times = fuseNativeTimesCheck(`${here}build/fuse-native-patched`);
  add('fuse-native (times patch)', times.ok, times.detail, 'native-deps/build-fuse-native-patched.sh', false);

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
