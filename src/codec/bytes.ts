import { SinkiError } from '../errors.js';

/** A growing buffer of bytes, LEB128 varints (7 bits a byte, low first), zigzag signed varints, UTF-8 and 32-byte hex ids. */
export class ByteWriter {
  private buf = Buffer.alloc(4096);
  private at = 0;

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const bigger = Buffer.alloc(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(bigger, 0, 0, this.at);
    this.buf = bigger;
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.at++] = b;
  }

  uint(n: number): void {
    this.room(8);
    while (n >= 0x80) {
      this.buf[this.at++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.at++] = n;
  }

  big(n: bigint): void {
    if (n <= 0x1fffffffffffffn) {
      this.uint(Number(n));
      return;
    }
    while (n >= 0x80n) {
      this.byte(Number(n & 0x7fn) | 0x80);
      n >>= 7n;
    }
    this.byte(Number(n));
  }

  signed(n: bigint): void {
    this.big(n >= 0n ? n << 1n : (-n << 1n) - 1n);
  }

  bytes(b: Buffer): void {
    this.room(b.length);
    b.copy(this.buf, this.at);
    this.at += b.length;
  }

  text(s: string): void {
    const length = Buffer.byteLength(s);
    this.uint(length);
    this.room(length);
    this.at += this.buf.write(s, this.at);
  }

  hex32(s: string): void {
    this.room(32);
    if (this.buf.write(s, this.at, 'hex') !== 32) throw new Error(`not a 32-byte hex id: ${s}`);
    this.at += 32;
  }

  get length(): number {
    return this.at;
  }

  done(): Buffer {
    return this.buf.subarray(0, this.at);
  }
}

/** Reads what ByteWriter writes; anything short, overlong or out of range is a CORRUPT error naming `what`. */
export class ByteReader {
  constructor(
    private readonly buf: Buffer,
    private readonly what: string,
    private at = 0,
  ) {}

  corrupt(why: string): SinkiError {
    return new SinkiError('CORRUPT', `${this.what}: ${why}`);
  }

  byte(): number {
    if (this.at >= this.buf.length) throw this.corrupt('truncated');
    return this.buf[this.at++]!;
  }

  big(): bigint {
    // Most values fit in 7 bytes (49 bits): read those without BigInt arithmetic.
    let small = 0;
    for (let i = 0, scale = 1; i < 7 && this.at + i < this.buf.length; i++, scale *= 0x80) {
      const b = this.buf[this.at + i]!;
      small += (b & 0x7f) * scale;
      if (b < 0x80) {
        this.at += i + 1;
        return BigInt(small);
      }
    }
    let n = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const b = this.byte();
      n |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return n;
    }
    throw this.corrupt('number too long');
  }

  uint(): number {
    let n = 0;
    for (let scale = 1; scale < 2 ** 53; scale *= 0x80) {
      const b = this.byte();
      n += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (n > Number.MAX_SAFE_INTEGER) break;
        return n;
      }
    }
    throw this.corrupt('number out of range');
  }

  /** A varint of at most 32 bits (pack entry lengths). */
  uint32(): number {
    const n = this.uint();
    if (n > 0xffffffff) throw this.corrupt('number out of range');
    return n;
  }

  signed(): bigint {
    const z = this.big();
    return z & 1n ? -((z + 1n) >> 1n) : z >> 1n;
  }

  hex32(): string {
    if (this.at + 32 > this.buf.length) throw this.corrupt('truncated');
    this.at += 32;
    return this.buf.toString('hex', this.at - 32, this.at);
  }

  bytes(n: number): Buffer {
    if (this.at + n > this.buf.length) throw this.corrupt('truncated');
    const b = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return b;
  }

  skip(n: number): void {
    if (this.at + n > this.buf.length) throw this.corrupt('truncated');
    this.at += n;
  }

  text(): string {
    const length = this.uint();
    if (this.at + length > this.buf.length) throw this.corrupt('truncated');
    this.at += length;
    return this.buf.toString('utf8', this.at - length, this.at);
  }

  get position(): number {
    return this.at;
  }

  get atEnd(): boolean {
    return this.at === this.buf.length;
  }
}
