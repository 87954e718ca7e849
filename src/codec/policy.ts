import { extname } from 'node:path';

export interface CompressionPolicy {
  preset: number;
  minCompressSize: number;
  noCompressExt: readonly string[];
}

/** Whether a file's chunks are worth handing to xz at all (stored raw anyway when xz does not shrink them). */
export function compressFile(fileName: string, policy: CompressionPolicy): boolean {
  const ext = extname(fileName).slice(1).toLowerCase();
  return ext === '' || !policy.noCompressExt.includes(ext);
}

export function compressBlob(length: number, fileWants: boolean, policy: CompressionPolicy): boolean {
  return fileWants && length >= policy.minCompressSize;
}

/** "jpg,.PNG, mp4" → ["jpg","png","mp4"] */
export function parseExtList(text: string): string[] {
  return [
    ...new Set(
      text
        .split(/[\s,]+/)
        .map((e) => e.replace(/^\./, '').toLowerCase())
        .filter(Boolean),
    ),
  ];
}
