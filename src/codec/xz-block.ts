import { crc32 } from 'node:zlib';
import { ByteReader, ByteWriter } from './bytes.js';
import { corruptXz, XZ_CHECK_CRC64 } from './xz-format.js';

/**
 * A one-block .xz stream with an LZMA2 filter, stored as the one byte of its filter properties,
 * its LZMA2 data and its CRC64. The rest of the stream (stream header, block header, padding,
 * index, stream footer: 43 bytes or more) follows from those and the plaintext length, which the store
 * records anyway; on small blobs it was the largest part of the container. Reads rebuild the
 * stream byte for byte, so the xz engine checks it, CRC64 included, as before.
 */

const MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
const FOOTER_MAGIC = Buffer.from('YZ');
const FLAGS = Buffer.from([0x00, XZ_CHECK_CRC64]);
const LZMA2_FILTER_ID = 0x21;
const STREAM_HEADER_LENGTH = 12;
const BLOCK_HEADER_LENGTH = 12;
const CHECK_LENGTH = 8;

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

function withCrc32(body: Buffer): Buffer {
  return Buffer.concat([body, uint32(crc32(body))]);
}

/** Header size 12 bytes, one filter, no size fields, LZMA2 with its one property byte (the dictionary size). */
function blockHeader(lzma2Properties: number): Buffer {
  return withCrc32(Buffer.from([BLOCK_HEADER_LENGTH / 4 - 1, 0x00, LZMA2_FILTER_ID, 0x01, lzma2Properties, 0x00, 0x00, 0x00]));
}

function index(unpaddedSize: number, uncompressedSize: number): Buffer {
  const w = new ByteWriter();
  w.byte(0x00);
  w.uint(1);
  w.uint(unpaddedSize);
  w.uint(uncompressedSize);
  while (w.length % 4 !== 0) w.byte(0x00);
  return withCrc32(w.done());
}

function streamFooter(indexLength: number): Buffer {
  const backward = withCrc32(Buffer.concat([uint32(indexLength / 4 - 1), FLAGS]));
  return Buffer.concat([backward.subarray(6), backward.subarray(0, 6), FOOTER_MAGIC]);
}

/** The .xz stream that `compact` (see compactOfStream) came from; it holds `uncompressedSize` bytes. */
export function streamOfCompact(compact: Buffer, uncompressedSize: number): Buffer {
  if (compact.length < 1 + CHECK_LENGTH + 1) throw corruptXz(`compact stream too short (${compact.length} bytes)`);
  const data = compact.subarray(1, compact.length - CHECK_LENGTH);
  const padding = (4 - (data.length % 4)) % 4;
  const idx = index(BLOCK_HEADER_LENGTH + data.length + CHECK_LENGTH, uncompressedSize);
  return Buffer.concat([
    MAGIC,
    withCrc32(FLAGS),
    blockHeader(compact[0]!),
    data,
    Buffer.alloc(padding),
    compact.subarray(compact.length - CHECK_LENGTH),
    idx,
    streamFooter(idx.length),
  ]);
}

/**
 * LZMA2 properties ‖ LZMA2 data ‖ CRC64 of a one-block stream of `uncompressedSize` bytes, or null
 * when the stream is anything streamOfCompact would not rebuild exactly (it is then stored whole).
 */
export function compactOfStream(stream: Buffer, uncompressedSize: number): Buffer | null {
  const blockStart = STREAM_HEADER_LENGTH;
  const dataStart = blockStart + BLOCK_HEADER_LENGTH;
  if (stream.length < dataStart + CHECK_LENGTH + 24) return null;
  const properties = stream[blockStart + 4]!;
  const indexLength = (stream.readUInt32LE(stream.length - 8) + 1) * 4;
  const blockEnd = stream.length - 12 - indexLength;
  if (blockEnd < dataStart + CHECK_LENGTH) return null;
  // The index records the block without its padding; the padding (zeros) cannot be told from the
  // end of the LZMA2 data, which is a 0x00 end marker.
  let unpadded: number;
  try {
    unpadded = new ByteReader(stream, 'xz index', blockEnd + 2).uint();
  } catch {
    return null;
  }
  const dataEnd = blockStart + unpadded - CHECK_LENGTH;
  if (dataEnd <= dataStart || dataEnd > blockEnd - CHECK_LENGTH) return null;
  const compact = Buffer.concat([Buffer.of(properties), stream.subarray(dataStart, dataEnd), stream.subarray(blockEnd - CHECK_LENGTH, blockEnd)]);
  if (streamOfCompact(compact, uncompressedSize).equals(stream)) return compact;
  return null;
}
