#!/usr/bin/env bash
# Builds a copy of lzma-native linked against the system liblzma (Debian's liblzma-dev)
# into native-deps/build/lzma-native-system. The shipped prebuild bundles liblzma 5.2.3,
# which is markedly slower than 5.4 (see docs/xz-engines.md).
#
# Idempotent, offline (needs only liblzma-dev, a C++ toolchain and npm's bundled node-gyp),
# and optional: src/codec/xz.ts falls back to the shipped lzma-native if this output is missing.
# node_modules/lzma-native itself is never modified.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
src="$root/node_modules/lzma-native"
out="$here/build/lzma-native-system"
binary="$out/build/Release/lzma_native.node"

if [[ ! -f "$src/binding.gyp" ]]; then
  echo "build-lzma-system: $src is missing; run npm install first" >&2
  exit 1
fi
if [[ ! -f /usr/include/lzma.h ]]; then
  echo "build-lzma-system: /usr/include/lzma.h missing; apt-get install liblzma-dev" >&2
  exit 1
fi

want_version="$(sed -n 's/^#define LZMA_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\).*/\2/p' /usr/include/lzma/version.h | paste -sd.)"
stamp="$out/.built-against"
if [[ -f "$binary" && -f "$stamp" && "$(cat "$stamp")" == "$want_version" ]] &&
   (cd "$out" && node -e "process.exit(require('./index.js').versionString() === '$want_version' ? 0 : 1)") 2>/dev/null; then
  echo "build-lzma-system: up to date (liblzma $want_version)"
  exit 0
fi

rm -rf "$out"
mkdir -p "$out"
# Copy only what the build and the JS wrapper need: no prebuilds (so node-gyp-build can only
# pick our build/Release binary) and no bundled xz tarball.
cp -r "$src/src" "$src/index.js" "$src/package.json" "$src/LICENSE" "$out/"

# binding.gyp without the bundled static liblzma: same sources, link -llzma from the system.
cat > "$out/binding.gyp" <<'GYP'
{
  "targets": [
    {
      "target_name": "lzma_native",
      "sources": [
        "src/util.cpp",
        "src/liblzma-functions.cpp",
        "src/filter-array.cpp",
        "src/lzma-stream.cpp",
        "src/module.cpp",
        "src/mt-options.cpp",
        "src/index-parser.cpp"
      ],
      "include_dirs": ["<!@(node -p \"require('node-addon-api').include\")"],
      "dependencies": ["<!(node -p \"require('node-addon-api').gyp\")"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags": ["-O3"],
      "cflags_cc": ["-std=c++11"],
      "libraries": ["-llzma"]
    }
  ]
}
GYP

node_gyp="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")/node_modules/node-gyp/bin/node-gyp.js"
if [[ ! -f "$node_gyp" ]]; then
  echo "build-lzma-system: npm's bundled node-gyp not found at $node_gyp" >&2
  exit 1
fi
nodedir="$(npm config get nodedir 2>/dev/null || true)"
[[ -z "$nodedir" || "$nodedir" == "undefined" ]] && nodedir=/usr

(cd "$out" && node "$node_gyp" rebuild --nodedir="$nodedir" >"$out/build.log" 2>&1) || {
  echo "build-lzma-system: node-gyp failed, see $out/build.log" >&2
  exit 1
}

got="$(cd "$out" && node -e "console.log(require('./index.js').versionString())")"
if [[ "$got" != "$want_version" ]]; then
  echo "build-lzma-system: built binary reports liblzma $got, expected $want_version" >&2
  exit 1
fi
echo "$want_version" > "$stamp"
echo "build-lzma-system: built lzma-native against system liblzma $got"
