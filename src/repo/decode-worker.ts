/**
 * A decode-pool worker (decode-pool.ts): opens a sealed blob (AES-GCM), decodes its payload (xz on
 * this thread) and checks its id, then hands the plaintext back without a copy. Nothing here holds
 * state between blobs but the id key and the xz engine.
 */
import { createHash, createHmac } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { decodeBlob } from '../codec/blob.js';
import { xzEngineByName } from '../codec/xz.js';
import { open as openSealed, type CipherName } from '../crypto/aead.js';
import { SinkiError } from '../errors.js';
import type { DecodeJob, DecodeReply, DecodeWorkerData } from './decode-pool.js';

const init = workerData as DecodeWorkerData;
const xz = xzEngineByName(init.xzEngine);
const idKey = Buffer.from(init.idKey);

function blobId(plain: Buffer): string {
  if (!init.idsOfHashes) return createHmac('sha256', idKey).update(plain).digest('hex');
  return createHmac('sha256', idKey).update(createHash('sha256').update(plain).digest()).digest('hex');
}

async function decode(job: DecodeJob): Promise<Buffer> {
  const sealed = Buffer.from(job.sealed, job.sealedOffset, job.sealedLength);
  const payload = openSealed(init.cipher as CipherName, Buffer.from(job.key), sealed, Buffer.from(job.aad), job.what);
  const plain = await decodeBlob(payload, job.plainLength, xz, job.what, { here: true });
  if (blobId(plain) !== job.id) throw new SinkiError('CORRUPT', `${job.what}: content does not match its id`);
  return plain;
}

let inFlight = 0;
let stopping = false;
const stopIfIdle = (): void => {
  if (stopping && inFlight === 0) parentPort!.close();
};

parentPort!.on('message', (job: DecodeJob | { stop: true }) => {
  // Ends by running out of work, never by terminate(): a native call cut off mid-throw aborts the process.
  if ('stop' in job) {
    stopping = true;
    stopIfIdle();
    return;
  }
  inFlight++;
  decode(job)
    .then(
      (plain) => {
        // Transfer when the plaintext owns its memory whole; else one copy into memory that can move.
        const own = plain.byteOffset === 0 && plain.byteLength === plain.buffer.byteLength && plain.buffer instanceof ArrayBuffer;
        const buffer = own ? (plain.buffer as ArrayBuffer) : new Uint8Array(plain).buffer;
        const reply: DecodeReply = { seq: job.seq, plain: buffer, length: plain.length };
        parentPort!.postMessage(reply, [buffer]);
      },
      (err: unknown) => {
        const reply: DecodeReply = {
          seq: job.seq,
          error: { message: (err as Error).message ?? String(err), code: err instanceof SinkiError ? err.code : 'FATAL' },
        };
        parentPort!.postMessage(reply);
      },
    )
    .finally(() => {
      inFlight--;
      stopIfIdle();
    });
});
