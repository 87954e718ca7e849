"""Patches fuse-native.c (2.2.6): utimens passes the mtime, and UTIME_NOW/UTIME_OMIT mean what they say."""
import sys

path = sys.argv[1]
src = open(path).read()

helper_anchor = "static void populate_stat (uint32_t *ints, struct stat* stat) {"
helper = """/* sinki patch: UTIME_NOW is now, UTIME_OMIT becomes 2^48-1 ms ("leave unchanged"). */
static uint64_t sinki_utime_ms (const struct timespec* ts) {
  if (ts->tv_nsec == UTIME_OMIT) return 0xFFFFFFFFFFFFull;
  if (ts->tv_nsec == UTIME_NOW) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return timespec_to_uint64(&now);
  }
  return timespec_to_uint64(ts);
}

"""
replacements = [
    ("  l->atime = timespec_to_uint64(&tv[0]);\n  l->mtime = timespec_to_uint64(&tv[1]);",
     "  l->atime = sinki_utime_ms(&tv[0]);\n  l->mtime = sinki_utime_ms(&tv[1]);"),
    ("  FUSE_UINT64_TO_INTS_ARGV(l->atime, 3)\n  FUSE_UINT64_TO_INTS_ARGV(l->atime, 5)",
     "  FUSE_UINT64_TO_INTS_ARGV(l->atime, 3)\n  FUSE_UINT64_TO_INTS_ARGV(l->mtime, 5)"),
    (helper_anchor, helper + helper_anchor),
]
for old, new in replacements:
    if src.count(old) != 1:
        sys.exit(f"fuse-native-utimens: expected exactly one occurrence of {old[:60]!r}; is this fuse-native 2.2.6?")
    src = src.replace(old, new)
if "#include <time.h>" not in src:
    src = src.replace("#include <string.h>", "#include <string.h>\n#include <time.h>\n#include <sys/stat.h>", 1)
open(path, "w").write(src)
