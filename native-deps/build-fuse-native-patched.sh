#!/usr/bin/env bash
# Builds a patched copy of fuse-native 2.2.6 into native-deps/build/fuse-native-patched.
#
# The patch (native-deps/fuse-native-utimens.py, to fuse-native.c and index.js) fixes times:
# fuse-native passes the atime twice and never the mtime to utimens, so `cp -a`, `rsync -a` and
# `touch -d` lose modification times; UTIME_NOW / UTIME_OMIT arrive as garbage; and every time is
# cut to milliseconds. After the patch utimens gets nanoseconds (UTIME_OMIT as null) and stats
# carry nanoseconds both ways.
#
# Idempotent, offline (needs a C toolchain, the headers fuse-shared-library ships, npm's bundled
# node-gyp) and optional: the adapter falls back to the shipped fuse-native if this is missing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
src="$root/node_modules/fuse-native"
out="$here/build/fuse-native-patched"
binary="$out/build/Release/fuse.node"
patch="$here/fuse-native-utimens.py"
stamp="$out/.patch-sum"
want="$(cat "$patch" "$src/fuse-native.c" "$src/index.js" | sha256sum | cut -c1-64)"

if [[ -f "$binary" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "build-fuse-native-patched: up to date"
  exit 0
fi
rm -rf "$out"
mkdir -p "$out"
cp "$src/fuse-native.c" "$src/semaphore.h" "$src/index.js" "$src/package.json" "$src/binding.gyp" "$out/"
[[ -f "$src/LICENSE" ]] && cp "$src/LICENSE" "$out/"
python3 "$patch" "$out/fuse-native.c" "$out/index.js"

node_gyp="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")/node_modules/node-gyp/bin/node-gyp.js"
nodedir="$(npm config get nodedir 2>/dev/null || true)"
[[ -z "$nodedir" || "$nodedir" == "undefined" ]] && nodedir=/usr
(cd "$out" && node "$node_gyp" rebuild --nodedir="$nodedir" >"$out/build.log" 2>&1) || {
  echo "build-fuse-native-patched: node-gyp failed, see $out/build.log" >&2
  exit 1
}
(cd "$out" && node -e "require('./index.js')") || {
  echo "build-fuse-native-patched: the built module does not load" >&2
  exit 1
}
echo "$want" > "$stamp"
echo "build-fuse-native-patched: built fuse-native with the utimens and nanosecond fixes"
