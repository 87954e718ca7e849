#!/usr/bin/env bash
# The small-files part of scripts/bench-mount (run it as `scripts/bench-mount --small-files`).
#   scripts/lib/bench-mount-small-files.sh FILES DATASET-DIR-OR-EMPTY OUT
set -euo pipefail
cd "$(dirname "$0")/../.."
files=$1 dataset=$2 out=$3
sinki_js=${SINKI_CLI:-dist/cli/main.js}
[ -f "$sinki_js" ] || npx tsc -p tsconfig.json
tools=(sinki)
if command -v gocryptfs >/dev/null; then tools+=(gocryptfs); else echo "gocryptfs is not installed (apt-get install gocryptfs): sinki alone" >&2; fi

work=$(mktemp -d /var/tmp/sinki-bench-small.XXXXXX)
mounts=()
cleanup() {
  for m in "${mounts[@]}"; do fusermount -uz "$m" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
export SINKI_PASSWORD=bench-password

if [ -z "$dataset" ]; then
  echo "== generating the 1G dataset (seed 42) for its deep/ subtree"
  node scripts/gen-dataset.mjs "$work/dataset" --size 1G --seed 42 >/dev/null
  dataset=$work/dataset
fi
src=$dataset/deep
[ -d "$src" ] || { echo "$src is not a folder: --dataset takes a tree made by scripts/gen-dataset.mjs" >&2; exit 2; }
deep_files=$(find "$src" -type f | wc -l)
deep_entries=$(find "$src" | wc -l)
deep_mib=$(du -sm --apparent-size "$src" | cut -f1)
find "$src" -type f -exec cat {} + >/dev/null

now() { date +%s.%N; }
secs() { node -e "console.log(($2-$1).toFixed(2))"; }
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; }

declare -A RATE FIRST LAST SLICES CREATE FIND FINDW CP CPRATE
measure() { # name mountpoint
  local name=$1 mnt=$2 json t0 t1 n
  echo "== $name: $files files in one folder"
  json=$(node scripts/lib/create-files.mjs "$mnt/one" --files "$files" --size 1024 --slices 10)
  echo "   $json"
  RATE[$name]=$(node -e 'console.log(JSON.parse(process.argv[1]).rate)' "$json")
  CREATE[$name]=$(node -e 'console.log(JSON.parse(process.argv[1]).seconds)' "$json")
  FIRST[$name]=$(node -e 'console.log(JSON.parse(process.argv[1]).slices[0])' "$json")
  LAST[$name]=$(node -e 'console.log(JSON.parse(process.argv[1]).slices.at(-1))' "$json")
  SLICES[$name]=$(node -e 'console.log(JSON.parse(process.argv[1]).slices.join(" "))' "$json")
  drop_caches
  t0=$(now); n=$(find "$mnt/one" | wc -l); t1=$(now)
  [ "$n" -eq $((files + 1)) ] || { echo "$name: find saw $n entries, not $((files + 1))" >&2; exit 1; }
  FIND[$name]=$(secs "$t0" "$t1")
  t0=$(now); find "$mnt/one" >/dev/null; t1=$(now)
  FINDW[$name]=$(secs "$t0" "$t1")
  echo "== $name: cp -a of deep/ ($deep_files files)"
  t0=$(now); cp -a "$src" "$mnt/"; t1=$(now)
  CP[$name]=$(secs "$t0" "$t1")
  CPRATE[$name]=$(node -e "console.log(Math.round($deep_files/($t1-$t0)))")
  n=$(find "$mnt/deep" | wc -l)
  [ "$n" -eq "$deep_entries" ] || { echo "$name: the copy has $n entries, the source $deep_entries" >&2; exit 1; }
}

echo "== sinki mount"
node "$sinki_js" -s "$work/store" init --kdf pbkdf2 --kdf-iterations 100000 --insecure-kdf >/dev/null
mkdir -p "$work/m-sinki"
node "$sinki_js" -s "$work/store" mount "$work/m-sinki" --background --no-snapshot-on-unmount >/dev/null
mounts+=("$work/m-sinki")
measure sinki "$work/m-sinki"
t0=$(now); node "$sinki_js" umount "$work/m-sinki" >/dev/null; t1=$(now)
UMOUNT=$(secs "$t0" "$t1")

if [[ " ${tools[*]} " == *" gocryptfs "* ]]; then
  echo "== gocryptfs $(gocryptfs -version 2>/dev/null | head -n1 | awk '{print $2}')"
  mkdir -p "$work/g-cipher" "$work/m-gocryptfs"
  gocryptfs -q -init -extpass "echo bench-password" "$work/g-cipher" >/dev/null
  gocryptfs -q -extpass "echo bench-password" "$work/g-cipher" "$work/m-gocryptfs"
  mounts+=("$work/m-gocryptfs")
  measure gocryptfs "$work/m-gocryptfs"
  fusermount -u "$work/m-gocryptfs"
fi

row() { echo "| $1 | ${RATE[$2]} | ${FIRST[$2]} | ${LAST[$2]} | ${FIND[$2]} | ${FINDW[$2]} | ${CP[$2]} | ${CPRATE[$2]} |"; }
ratio() { node -e "console.log(($1).toFixed(2))"; }
rows=$(row 'sinki mount' sinki)
against=''
if [ -n "${RATE[gocryptfs]:-}" ]; then
  rows="$rows
$(row gocryptfs gocryptfs)"
  against="Against gocryptfs: create rate $(ratio "${RATE[sinki]}/${RATE[gocryptfs]}")×, \`cp -a\` rate $(ratio "${CP[gocryptfs]}/${CP[sinki]}")× (targets ≥ 0.5×); \`find\` $(ratio "${FIND[sinki]}/${FIND[gocryptfs]}")× gocryptfs's time cold, $(ratio "${FINDW[sinki]}/${FINDW[gocryptfs]}")× warm (target ≤ 2×)."
fi
cpu=$(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ //')
section=$(cat <<EOT
## Mount: small files (scripts/bench-mount --small-files)

$(nproc) cores (${cpu}), load average $(cut -d' ' -f1-3 /proc/loadavg) at the end, $(date -u +%Y-%m-%d).
Create: ${files} files of 1 KiB in one folder, each opened, written and closed (\`scripts/lib/create-files.mjs\`);
the rate over all of them, over the first and the last tenth. Find: \`find\` over that folder after dropping
the kernel caches (cold), then again (warm). cp -a: the deep/ subtree of the 1G dataset (seed 42;
${deep_files} files, ${deep_entries} entries, ${deep_mib} MiB), read into the page cache first.

| | create files/s | first tenth | last tenth | find cold s | find warm s | cp -a s | cp -a files/s |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${rows}

sinki's rate per tenth: ${SLICES[sinki]}. ${against}
\`sinki umount\` afterwards (commit, and the chunks still uncompressed left for later): ${UMOUNT} s.

Reproduce: \`scripts/bench-mount --small-files --files ${files}\`
EOT
)
echo "$section"
node -e '
const fs=require("fs");const [file,section]=process.argv.slice(1);
let doc=fs.existsSync(file)?fs.readFileSync(file,"utf8"):"# Benchmarks\n";
const start=doc.indexOf("## Mount: small files");
if(start>=0){const next=doc.indexOf("\n## ",start+5);doc=doc.slice(0,start)+section+"\n"+(next>=0?doc.slice(next+1):"");}
else{const before=doc.indexOf("## Across bench:peers runs");doc=before>=0?doc.slice(0,before)+section+"\n\n"+doc.slice(before):doc.trimEnd()+"\n\n"+section+"\n";}
fs.writeFileSync(file,doc);' "$out" "$section"
