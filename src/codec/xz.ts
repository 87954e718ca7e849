import { SinkiError } from '../errors.js';
import { xzCliEngine } from './xz-cli.js';
import { loadShippedLzmaNative, loadSystemLzmaNative, lzmaNativeEngine } from './xz-lzma-native.js';

/** One way of making and reading .xz streams; the rest of Sinki sees only this. */
export interface XzEngine {
  readonly name: string;
  /**
   * xz container, CRC64 check, given preset 0-9. Runs off the main thread, waiting in line for a coding
   * slot; `here` codes a small input on the calling thread at once instead (engines that cannot, ignore it).
   */
  compress(data: Buffer, preset: number, options?: { here?: boolean }): Promise<Buffer>;
  /** Verifies the CRC64; throws SinkiError('CORRUPT', ...) on any bad input; never returns wrong bytes. expectedLength: the exact plaintext length, reject otherwise. */
  decompress(data: Buffer, expectedLength: number): Promise<Buffer>;
}

/**
 * - `lzma-native`: the npm package as shipped (prebuild with liblzma 5.2.3).
 * - `lzma-native-system`: the same binding rebuilt against the system liblzma by
 *   native-deps/build-lzma-system.sh; absent until that script has run.
 * - `xz-cli`: one `xz` child process per call.
 */
export const XZ_ENGINE_NAMES: readonly string[] = ['lzma-native', 'lzma-native-system', 'xz-cli'];

const engines = new Map<string, XzEngine | null>();

/** The named engine, or null when it cannot run here (the system build is missing). */
export function tryXzEngineByName(name: string): XzEngine | null {
  if (!engines.has(name)) engines.set(name, makeEngine(name));
  return engines.get(name) ?? null;
}

export function xzEngineByName(name: string): XzEngine {
  const engine = tryXzEngineByName(name);
  if (!engine) {
    throw new SinkiError(
      'FATAL',
      name === 'lzma-native-system' ? 'xz engine lzma-native-system is not built; run native-deps/build-lzma-system.sh' : `xz engine ${name} is not available`,
    );
  }
  return engine;
}

/**
 * lzma-native linked against the system liblzma when it has been built, else lzma-native as shipped.
 * Why, with numbers: docs/xz-engines.md.
 */
export function defaultXzEngine(): XzEngine {
  return tryXzEngineByName('lzma-native-system') ?? xzEngineByName('lzma-native');
}

function makeEngine(name: string): XzEngine | null {
  switch (name) {
    case 'lzma-native':
      return lzmaNativeEngine(name, loadShippedLzmaNative());
    case 'lzma-native-system': {
      const lzma = loadSystemLzmaNative();
      return lzma ? lzmaNativeEngine(name, lzma) : null;
    }
    case 'xz-cli':
      return xzCliEngine();
    default:
      throw new SinkiError('USAGE', `unknown xz engine "${name}" (known: ${XZ_ENGINE_NAMES.join(', ')})`);
  }
}
