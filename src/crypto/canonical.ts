import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every level: the bytes a checksum or MAC is taken over. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v)) {
      const sorted: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
      return sorted;
    }
    return v;
  });
}

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A self-checksum so that an accidentally edited or truncated JSON file is told apart from a wrong password. */
export function withChecksum<T extends object>(body: T): T & { checksum: string } {
  return { ...body, checksum: sha256Hex(canonicalJson(body)) };
}

export function checksumValid(record: Record<string, unknown>): boolean {
  const { checksum, ...body } = record;
  return typeof checksum === 'string' && checksum === sha256Hex(canonicalJson(body));
}
