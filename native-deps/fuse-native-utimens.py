"""Patches a copy of fuse-native 2.2.6 (fuse-native.c and index.js) so that times keep nanoseconds.

- utimens passes the mtime (2.2.6 passes the atime twice), each time as signed nanoseconds since the
  epoch in 64 bits; UTIME_NOW is the current time and UTIME_OMIT a sentinel (-2^63) that index.js
  turns into null ("leave unchanged"). index.js hands the op BigInts.
- getattr/readdir stats: getStatArray appends the sub-millisecond nanoseconds of atime, mtime and
  ctime (from atimeNs/mtimeNs/ctimeNs BigInts when given) and populate_stat adds them to tv_nsec.
- the module says which patch it carries (Fuse.SINKI_PATCH_LEVEL), so that src/fuse/fuse-adapter.ts
  never mistakes a build from an older patch for this one.

Usage: fuse-native-utimens.py FUSE_NATIVE_C INDEX_JS
"""
import sys

PATCH_LEVEL = 2


def patch(path, replacements):
    src = open(path).read()
    for old, new in replacements:
        if src.count(old) != 1:
            sys.exit(f"fuse-native-utimens: expected exactly one occurrence of {old[:60]!r} in {path}; is this fuse-native 2.2.6?")
        src = src.replace(old, new)
    return src


c_helper_anchor = "static void populate_stat (uint32_t *ints, struct stat* stat) {"
c_helper = """/* sinki patch: a utimens time as signed nanoseconds; UTIME_NOW is now, UTIME_OMIT is -2^63. */
static uint64_t sinki_utime_ns (const struct timespec* ts) {
  struct timespec now;
  if (ts->tv_nsec == UTIME_OMIT) return 0x8000000000000000ull;
  if (ts->tv_nsec == UTIME_NOW) {
    clock_gettime(CLOCK_REALTIME, &now);
    ts = &now;
  }
  return (uint64_t) ((int64_t) ts->tv_sec * 1000000000 + ts->tv_nsec);
}

"""
c_src = patch(sys.argv[1], [
    ("  l->atime = timespec_to_uint64(&tv[0]);\n  l->mtime = timespec_to_uint64(&tv[1]);",
     "  l->atime = sinki_utime_ns(&tv[0]);\n  l->mtime = sinki_utime_ns(&tv[1]);"),
    ("  FUSE_UINT64_TO_INTS_ARGV(l->atime, 3)\n  FUSE_UINT64_TO_INTS_ARGV(l->atime, 5)",
     "  FUSE_UINT64_TO_INTS_ARGV(l->atime, 3)\n  FUSE_UINT64_TO_INTS_ARGV(l->mtime, 5)"),
    # After the three millisecond times, getStatArray sends the nanoseconds below the millisecond.
    ("  uint32s_to_timespec(&stat->st_ctim, &ints);\n#endif",
     "  uint32s_to_timespec(&stat->st_ctim, &ints);\n"
     "  stat->st_atim.tv_nsec += *ints++;\n  stat->st_mtim.tv_nsec += *ints++;\n  stat->st_ctim.tv_nsec += *ints++;\n#endif"),
    (c_helper_anchor, c_helper + c_helper_anchor),
])
if "#include <time.h>" not in c_src:
    c_src = c_src.replace("#include <string.h>", "#include <string.h>\n#include <time.h>\n#include <sys/stat.h>", 1)
open(sys.argv[1], "w").write(c_src)

js_src = patch(sys.argv[2], [
    ("""  _op_utimens (signal, path, atimeLow, atimeHigh, mtimeLow, mtimeHigh) {
    const atime = getDoubleArg(atimeLow, atimeHigh)
    const mtime = getDoubleArg(mtimeLow, mtimeHigh)
""",
     """  _op_utimens (signal, path, atimeLow, atimeHigh, mtimeLow, mtimeHigh) {
    const atime = getNsArg(atimeLow, atimeHigh)
    const mtime = getNsArg(mtimeLow, mtimeHigh)
"""),
    ("""function getStatArray (stat) {
  const ints = new Uint32Array(18)
""",
     """// sinki patch: signed 64-bit nanoseconds from two uint32s; -2^63 (UTIME_OMIT) is null.
function getNsArg (low, high) {
  const ns = BigInt.asIntN(64, (BigInt(high) << 32n) | BigInt(low))
  return ns === -(2n ** 63n) ? null : ns
}

// sinki patch: with a BigInt xtimeNs, the milliseconds come from it and its rest below the
// millisecond goes into ints[nsIdx].
function setTime (ints, idx, nsIdx, date, ns) {
  if (typeof ns !== 'bigint') return setDoubleInt(ints, idx, toDateMS(date))
  setDoubleInt(ints, idx, Number(ns / 1000000n))
  ints[nsIdx] = Number(ns % 1000000n)
}

function getStatArray (stat) {
  const ints = new Uint32Array(21)
"""),
    ("""  setDoubleInt(ints, 12, toDateMS(stat && stat.atime))
  setDoubleInt(ints, 14, toDateMS(stat && stat.mtime))
  setDoubleInt(ints, 16, toDateMS(stat && stat.ctime))
""",
     """  setTime(ints, 12, 18, stat && stat.atime, stat && stat.atimeNs)
  setTime(ints, 14, 19, stat && stat.mtime, stat && stat.mtimeNs)
  setTime(ints, 16, 20, stat && stat.ctime, stat && stat.ctimeNs)
"""),
    ("module.exports = Fuse\n", f"Fuse.SINKI_PATCH_LEVEL = {PATCH_LEVEL}\n\nmodule.exports = Fuse\n"),
])
open(sys.argv[2], "w").write(js_src)
