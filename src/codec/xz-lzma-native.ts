import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { SinkiError } from '../errors.js';
import type { XzEngine } from './xz.js';
import { Slots } from './slots.js';
import { ExactLengthSink, XZ_CHECK_CRC64, assertExpectedLength, assertPreset, assertXzCrc64Header, corruptXz } from './xz-format.js';

/**
 * The typed face of lzma-native's native `Stream` (src/lzma-stream.cpp, 8.x). We drive it directly
 * instead of through its readable-stream wrapper: that wrapper maps preset 0 to 6, re-splits input at
 * every "YZ" byte pair and silently restarts on trailing bytes. `code(buf, true)` runs liblzma on the
 * libuv thread pool; the stream's mutex is held meanwhile, so nothing may touch the stream until its
 * `bufferHandler` reports back.
 */
interface NativeLzmaStream {
  easyEncoder_(preset: number, check: number): void;
  streamEncoder_(filters: Array<{ id: string; options: Lzma2Options }>, check: number): void;
  streamDecoder_(memlimit: number | null, flags: number): void;
  setBufsize(size: number): number;
  code(chunk: Buffer | null, async: boolean): void;
  resetUnderlying(): void;
  bufferHandler: (buf: Buffer | null | undefined, processedChunks: number | undefined, err: Error | null | undefined) => void;
}

interface LzmaNativeModule {
  Stream: new () => NativeLzmaStream;
  versionString(): string;
  asyncCodeAvailable: boolean;
}

interface Lzma2Options {
  dictSize: number;
  lc: number;
  lp: number;
  pb: number;
  mode: number;
  niceLen: number;
  mf: number;
  depth: number;
}

/** liblzma's lzma_lzma_preset() table (lzma_encoder_presets.c), so a preset can be used with a smaller dictionary. */
const PRESET_DICT_LOG2 = [18, 20, 21, 22, 22, 23, 23, 24, 25, 26];
const MODE_FAST = 1;
const MODE_NORMAL = 2;
const MF_HC3 = 0x03;
const MF_HC4 = 0x04;
const MF_BT4 = 0x14;
const MIN_DICT = 4096;

/**
 * The LZMA2 options of an xz preset, with the dictionary no larger than the input needs. The
 * output is what `xz -<preset>` would write, but setting up the encoder for a small blob costs a
 * small fraction of the time and memory a full preset dictionary takes (docs/BENCHMARKS.md,
 * "Measurements behind design choices").
 */
export function presetOptions(preset: number, inputLength: number): Lzma2Options {
  const presetDict = 2 ** PRESET_DICT_LOG2[preset]!;
  const needed = 2 ** Math.ceil(Math.log2(Math.max(MIN_DICT, inputLength)));
  const fast = preset <= 3;
  return {
    dictSize: Math.min(presetDict, needed),
    lc: 3,
    lp: 0,
    pb: 2,
    mode: fast ? MODE_FAST : MODE_NORMAL,
    niceLen: fast ? (preset <= 1 ? 128 : 273) : preset === 4 ? 16 : preset === 5 ? 32 : 64,
    mf: fast ? (preset === 0 ? MF_HC3 : MF_HC4) : MF_BT4,
    depth: fast ? [4, 8, 24, 48][preset]! : 0,
  };
}

/** liblzma's LZMA_CONCATENATED: keep decoding after the first stream, so trailing garbage is an error. */
const LZMA_CONCATENATED = 0x08;
/** Preset 9 needs 65 MiB to decode; anything asking for more is not ours. */
const DECODER_MEMLIMIT = 128 * 1024 * 1024;

const require = createRequire(import.meta.url);

/** The lzma-native package as installed (its prebuild bundles liblzma 5.2.3). */
export function loadShippedLzmaNative(): LzmaNativeModule {
  return checkShape(require('lzma-native'), 'lzma-native');
}

/** Where native-deps/build-lzma-system.sh puts lzma-native rebuilt against the system liblzma. */
const SYSTEM_BUILD_DIR = fileURLToPath(new URL('../../native-deps/build/lzma-native-system/', import.meta.url));

/** lzma-native rebuilt against the system liblzma, or null when that build is absent or broken. */
export function loadSystemLzmaNative(): LzmaNativeModule | null {
  if (!existsSync(`${SYSTEM_BUILD_DIR}build/Release/lzma_native.node`)) return null;
  try {
    return checkShape(require(`${SYSTEM_BUILD_DIR}index.js`), 'lzma-native (system liblzma)');
  } catch {
    return null;
  }
}

function checkShape(mod: unknown, what: string): LzmaNativeModule {
  const m = mod as Partial<LzmaNativeModule> | null;
  if (typeof m?.Stream !== 'function' || typeof m.versionString !== 'function' || m.asyncCodeAvailable !== true) {
    throw new SinkiError('FATAL', `${what} does not look like lzma-native 8 with async coding`);
  }
  return m as LzmaNativeModule;
}

/**
 * How many codings run at once, whoever asks: one per core, and never all of libuv's four pool
 * threads, so file reads and writes still get a thread while xz works. Each running coding holds
 * an encoder (~10 MiB at preset 1, the preset's dictionary at most) or a decoder, one input slice
 * and its output; callers beyond this wait in line, holding only their own buffers.
 */
export const CODING_SLOTS = Math.max(1, Math.min(availableParallelism(), 3));
/** Input is handed to liblzma this much at a time: lzma-native copies what it is given. */
export const INPUT_SLICE = 1024 * 1024;
/**
 * Encoding runs in the pool unless a caller asks for `here`. Coding a backup's small blobs on the
 * calling thread was measured too: less CPU, but one core busy instead of two (wall time no better)
 * and a higher peak RSS, so it was dropped (docs/BENCHMARKS.md, "Measurements behind design choices").
 */
/**
 * Even the smallest encoder allocates and zeroes its match-finder hash. glibc hands such a block
 * back to the kernel on free (brk trim) while its thresholds are at their start values, so every small
 * blob paid fresh page faults: a large share of a small-files backup. One encoder set up and freed at the
 * start, sized for this input, is allocated by mmap and freed, which raises glibc's mmap and trim
 * thresholds (mallopt(3), "dynamic adjustment") above what small encoders need; from then on they reuse
 * heap pages. Elsewhere it is one idle encoder set-up.
 */
const WARM_UP_INPUT = 1024 * 1024;
/**
 * Blobs whose plaintext is up to this size are decoded on the calling thread: a trip through the pool
 * (worker set-up, wake-ups, callbacks) costs more CPU than decoding a small blob, which is well within
 * what the main thread already spends on a blob (AES-GCM, HMAC).
 */
export const SYNC_DECOMPRESS_MAX = 64 * 1024;
/**
 * `compress(..., { here: true })` codes inputs up to this size on the calling thread. The mount's
 * directory trees use it: a commit (fsync) must not wait behind 4 MiB data chunks queued for the pool,
 * which takes far longer than coding a tree of this size (docs/BENCHMARKS.md).
 */
export const SYNC_COMPRESS_MAX = 256 * 1024;

export function lzmaNativeEngine(name: string, lzma: LzmaNativeModule, slots = new Slots(CODING_SLOTS)): XzEngine {
  let warm = false;
  const warmHeap = (): void => {
    if (warm) return;
    warm = true;
    const stream = new lzma.Stream();
    stream.streamEncoder_([{ id: 'LZMA_FILTER_LZMA2', options: presetOptions(1, WARM_UP_INPUT) }], XZ_CHECK_CRC64);
    stream.resetUnderlying();
  };
  return {
    name: `${name} (liblzma ${lzma.versionString()})`,
    async compress(data, preset, options) {
      assertPreset(preset);
      warmHeap();
      const here = options?.here === true && data.length <= SYNC_COMPRESS_MAX;
      const encode = async (): Promise<Buffer> => {
        const stream = new lzma.Stream();
        stream.streamEncoder_([{ id: 'LZMA_FILTER_LZMA2', options: presetOptions(preset, data.length) }], XZ_CHECK_CRC64);
        stream.setBufsize(outputBufferSize(data.length));
        const pieces: Buffer[] = [];
        if (here) runHere(stream, data, (piece) => pieces.push(piece));
        else await runToEnd(stream, data, (piece) => pieces.push(piece));
        return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
      };
      return here ? encode() : slots.run(encode);
    },
    async decompress(data, expectedLength) {
      assertExpectedLength(expectedLength);
      assertXzCrc64Header(data);
      warmHeap();
      const here = expectedLength <= SYNC_DECOMPRESS_MAX && data.length <= SYNC_DECOMPRESS_MAX;
      const decode = async (): Promise<Buffer> => {
        const stream = new lzma.Stream();
        stream.streamDecoder_(DECODER_MEMLIMIT, LZMA_CONCATENATED);
        stream.setBufsize(outputBufferSize(expectedLength));
        const sink = new ExactLengthSink(expectedLength);
        try {
          if (here) runHere(stream, data, (piece) => sink.push(piece));
          else await runToEnd(stream, data, (piece) => sink.push(piece));
        } catch (err) {
          throw corruptXz(err instanceof Error ? err.message : String(err), err);
        }
        return sink.finish();
      };
      return here ? decode() : slots.run(decode);
    },
  };
}

/** Output pieces of about the input size, at most a slice: few callbacks for big blobs, no big allocation for small ones. */
function outputBufferSize(length: number): number {
  return Math.min(Math.max(length, 64 * 1024), INPUT_SLICE);
}

/** The same as runToEnd, on this thread: for small inputs, where a trip through the thread pool costs more than the coding. */
function runHere(stream: NativeLzmaStream, input: Buffer, onPiece: (piece: Buffer) => void): void {
  let ended = false;
  let failure: Error | null = null;
  stream.bufferHandler = (buf, _processedChunks, err) => {
    if (ended || failure) return;
    if (err) failure = err;
    else if (buf) onPiece(buf);
    else if (buf === null) ended = true;
  };
  try {
    if (input.length > 0) stream.code(input, false);
    if (!failure && !ended) stream.code(null, false);
  } finally {
    stream.bufferHandler = () => {};
  }
  if (failure) throw failure;
  if (!ended) throw new Error('stream did not end');
}

/**
 * Feeds `input` one slice at a time, then the end-of-input marker, one async `code` call at a time, and
 * resolves when liblzma reports the end of the stream. Output pieces go to `onPiece` as they arrive.
 */
function runToEnd(stream: NativeLzmaStream, input: Buffer, onPiece: (piece: Buffer) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let fed = 0;
    let finishing = false;
    let settled = false;
    const settle = (err?: Error): void => {
      if (settled) return;
      settled = true;
      stream.bufferHandler = () => {};
      if (err) reject(err);
      else resolve();
    };
    const feed = (): void => {
      if (settled) return;
      try {
        if (fed < input.length) {
          const slice = input.subarray(fed, fed + INPUT_SLICE);
          fed += slice.length;
          stream.code(slice, true);
        } else {
          finishing = true;
          stream.code(null, true);
        }
      } catch (e) {
        settle(e instanceof Error ? e : new Error(String(e)));
      }
    };
    // Calls arrive from the native side; a throw in here would escape into the process, so only settle.
    stream.bufferHandler = (buf, processedChunks, err) => {
      if (settled) return;
      if (err) return settle(err);
      if (buf) return void onPiece(buf);
      // End of stream (the native side resets itself): only right after the end-of-input marker.
      if (buf === null) return settle(finishing ? undefined : new Error('stream ended before the end of its input (trailing data)'));
      // Not from inside the native callback: `code` takes the stream's mutex, which the caller holds.
      if (typeof processedChunks === 'number' && !finishing) setImmediate(feed);
    };
    feed();
  });
}
