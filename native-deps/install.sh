#!/usr/bin/env bash
# Installs the system parts Sinki needs on Debian/Ubuntu (fuse3, libfuse2, rclone, xz-utils),
# then the npm packages, then builds and checks. Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v fusermount >/dev/null 2>&1 || command -v fusermount3 >/dev/null 2>&1 || missing+=(fuse3)
ldconfig -p 2>/dev/null | grep -q 'libfuse\.so\.2' || missing+=(libfuse2)
command -v rclone >/dev/null 2>&1 || missing+=(rclone)
command -v xz >/dev/null 2>&1 || missing+=(xz-utils)
# for the test suite: the programs the mount tests run on a mount (test/fuse/programs.test.ts)
command -v rsync >/dev/null 2>&1 || missing+=(rsync)
command -v git >/dev/null 2>&1 || missing+=(git)
command -v sqlite3 >/dev/null 2>&1 || missing+=(sqlite3)
command -v vim >/dev/null 2>&1 || missing+=(vim)
dpkg -s liblzma-dev >/dev/null 2>&1 || missing+=(liblzma-dev)
# the file-manager test (test/remote/file-manager.test.ts, scripts/bench-browse): PCManFM under Xvfb, ImageMagick
command -v pcmanfm >/dev/null 2>&1 || missing+=(pcmanfm)
command -v Xvfb >/dev/null 2>&1 || missing+=(xvfb)
command -v convert >/dev/null 2>&1 && convert -version 2>/dev/null | grep -q ImageMagick || missing+=(imagemagick)
# for the tests of the units in contrib/ (systemd-analyze verify) and of mount -t fuse.sinki
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
command -v mount >/dev/null 2>&1 || missing+=(mount)
command -v script >/dev/null 2>&1 || missing+=(bsdutils)

if ((${#missing[@]})); then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "native-deps: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "native-deps: missing ${missing[*]}; run: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
if [ -x native-deps/build-lzma-system.sh ]; then
  native-deps/build-lzma-system.sh || echo "native-deps: lzma-native against the system liblzma did not build; the bundled engine is used"
fi
native-deps/build-fuse-native-patched.sh || echo "native-deps: the patched fuse-native did not build; the shipped one is used (cp -a into the mount then loses mtimes, and times are whole milliseconds)"
npx tsc -p tsconfig.json
chmod +x dist/cli/main.js dist/cli/mount-helper.js
# mount(8) finds the helper for `mount -t fuse.sinki` (and fstab lines of that type) in /sbin only.
if [ "$(id -u)" -eq 0 ]; then
  ln -sfn "$PWD/dist/cli/mount-helper.js" /sbin/mount.fuse.sinki
  echo "native-deps: /sbin/mount.fuse.sinki -> $PWD/dist/cli/mount-helper.js"
else
  echo "native-deps: for mount -t fuse.sinki and fstab lines, run: sudo ln -sfn $PWD/dist/cli/mount-helper.js /sbin/mount.fuse.sinki"
fi
node native-deps/checks.mjs
