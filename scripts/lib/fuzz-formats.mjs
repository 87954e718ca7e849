// fuzz-formats.mjs — the parser fuzz loop, shared by scripts/fuzz-formats (long) and
// test/lifecycle/fuzz.test.ts (short). It takes real on-disk files of a real store (a pack, an index
// segment, a snapshot, refs/head, a key file, sinki.json) and the plaintexts inside them (tree blobs,
// index and snapshot payloads, a pack header's entry list, a blob payload), mutates them with a
// seeded PRNG and feeds them to the decoders in dist/ (the build of src/).
//
// Two contracts:
//  - sealed targets (whole files as they lie on disk, decoded as the store decodes them): the
//    result is the original value or a SinkiError. Anything else is a failure: another exception
//    (TypeError, RangeError, ...), a different value, or a hang.
//  - inner targets (what is inside the seal, as a key holder's bug or a future format could make
//    it): a value of the right shape or a SinkiError; never another exception, never a hang.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { below, prng } from './prng.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DIST = process.env.SINKI_DIST ? path.resolve(process.env.SINKI_DIST) : path.join(ROOT, 'dist');
const PASSWORD = 'fuzz-formats-password';
/** A decode taking longer than this counts as a hang. */
const SLOW_MS = 5000;

const load = (rel) => import(path.join(DIST, rel));

async function loadDecoders() {
  const [errors, local, repository, sealed, index, packFormat, packReader, tree, snapshot, refs, keyfile, storeConfig, aead, blob, canonical] =
    await Promise.all(
      [
        'errors.js',
        'backend/local.js',
        'repo/repository.js',
        'repo/sealed-file.js',
        'repo/blob-index.js',
        'repo/pack-format.js',
        'repo/pack-reader.js',
        'repo/tree.js',
        'repo/snapshot.js',
        'repo/refs.js',
        'crypto/keyfile.js',
        'repo/store-config.js',
        'crypto/aead.js',
        'codec/blob.js',
        'crypto/canonical.js',
      ].map(load),
    );
  return { errors, local, repository, sealed, index, packFormat, packReader, tree, snapshot, refs, keyfile, storeConfig, aead, blob, canonical };
}

/** FileKind of src/repo/sealed-file.ts (a const enum, so not in the built module). */
const FileKind = { Index: 1, Snapshot: 2, Ref: 3 };

// ---- mutations ----------------------------------------------------------------

const EXTREMES = [0, 1, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff];

/** Byte-level mutations of a buffer. Each returns a new buffer and a short description. */
/** @type {Array<[string, (random: () => number, bytes: Buffer) => Buffer]>} */
const BYTE_MUTATIONS = [
  [
    'flip a bit',
    (r, b) => {
      if (!b.length) return b;
      const out = Buffer.from(b);
      const i = below(r, b.length);
      out[i] ^= 1 << below(r, 8);
      return out;
    },
  ],
  [
    'set a byte',
    (r, b) => {
      if (!b.length) return b;
      const out = Buffer.from(b);
      out[below(r, b.length)] = below(r, 256);
      return out;
    },
  ],
  [
    'overwrite a run',
    (r, b) => {
      if (!b.length) return b;
      const out = Buffer.from(b);
      const at = below(r, b.length);
      for (let i = at; i < Math.min(b.length, at + 1 + below(r, 16)); i++) out[i] = below(r, 256);
      return out;
    },
  ],
  [
    'put an extreme uint32',
    (r, b) => {
      if (b.length < 4) return b;
      const out = Buffer.from(b);
      out.writeUInt32LE(EXTREMES[below(r, EXTREMES.length)] >>> 0, below(r, b.length - 3));
      return out;
    },
  ],
  ['truncate', (r, b) => b.subarray(0, below(r, b.length + 1))],
  ['cut the head', (r, b) => b.subarray(below(r, Math.min(b.length + 1, 64)))],
  ['append bytes', (r, b) => Buffer.concat([b, Buffer.from(Array.from({ length: 1 + below(r, 64) }, () => below(r, 256)))])],
  [
    'delete a range',
    (r, b) => {
      const at = below(r, b.length + 1);
      return Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + below(r, 64)))]);
    },
  ],
  [
    'duplicate a range',
    (r, b) => {
      const at = below(r, b.length + 1);
      const piece = b.subarray(at, at + 1 + below(r, 64));
      return Buffer.concat([b.subarray(0, at), piece, b.subarray(at)]);
    },
  ],
  [
    'swap two ranges',
    (r, b) => {
      if (b.length < 4) return b;
      const len = 1 + below(r, Math.min(32, b.length >> 1));
      const x = below(r, b.length - len + 1);
      const y = below(r, b.length - len + 1);
      const out = Buffer.from(b);
      b.copy(out, x, y, y + len);
      b.copy(out, y, x, x + len);
      return out;
    },
  ],
  [
    'zero a range',
    (r, b) => {
      const out = Buffer.from(b);
      const at = below(r, b.length + 1);
      out.fill(0, at, Math.min(b.length, at + 1 + below(r, 64)));
      return out;
    },
  ],
];

/** JSON-aware mutation: one value somewhere in the document replaced, removed or retyped. */
const ODD_VALUES = [null, 0, -1, 1e308, Number.MAX_SAFE_INTEGER + 2, '', 'x', '../../etc', true, [], {}, [null], { nodes: null }, 'ff'.repeat(32)];

function mutateJsonValue(r, value) {
  const paths = [];
  const visit = (v, p) => {
    paths.push(p);
    if (v && typeof v === 'object') for (const k of Object.keys(v)) if (paths.length < 5000) visit(v[k], [...p, k]);
  };
  visit(value, []);
  const p = paths[below(r, paths.length)];
  const replacement = structuredClone(ODD_VALUES[below(r, ODD_VALUES.length)]);
  if (p.length === 0) return replacement;
  const root = structuredClone(value);
  let parent = root;
  for (const k of p.slice(0, -1)) parent = parent[k];
  const last = p[p.length - 1];
  if (r() < 0.2 && !Array.isArray(parent)) delete parent[last];
  else parent[last] = replacement;
  return root;
}

// ---- targets --------------------------------------------------------------------

/**
 * A store with a few snapshots, a refs/head and the plaintexts inside its files, plus the decoders.
 * @param {string} workdir an empty folder
 */
export async function buildCorpus(workdir) {
  const d = await loadDecoders();
  const store = path.join(workdir, 'store');
  const src = path.join(workdir, 'src');
  const cli = path.join(DIST, 'cli/main.js');
  const env = { ...process.env, SINKI_PASSWORD: PASSWORD };
  const sh = (cmd, args) => {
    const r = spawnSync(cmd, args, { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  };
  sh(process.execPath, [path.join(ROOT, 'scripts/gen-dataset.mjs'), src, '--size', '3M', '--seed', 'fuzz']);
  sh(process.execPath, [cli, '-s', store, 'init', '--kdf', 'pbkdf2', '--kdf-iterations', '1000', '--insecure-kdf', '--pack-size', '1M']);
  sh(process.execPath, [cli, '-s', store, 'backup', src]);
  const repo = await d.repository.Repository.open(new d.local.LocalBackend(store), Buffer.from(PASSWORD));
  const [snap] = await repo.listSnapshots();
  await d.refs.writeHead(repo, { tree: snap.tree, time: new Date().toISOString() });
  const read = (rel) => fs.readFileSync(path.join(store, rel));
  const keys = repo.keys;
  const packs = await repo.listPacks();
  const treePack = packs.find((p) => repo.index.packEntries(p).some((e) => e.kind === 1));
  const dataPack = packs.find((p) => p !== treePack) ?? treePack;
  const segment = fs.readdirSync(path.join(store, 'index')).sort()[0];
  const keyName = fs.readdirSync(path.join(store, 'keys'))[0];
  const treeIds = [];
  const collect = async (id) => {
    treeIds.push(id);
    for (const n of (await repo.loadTree(id)).nodes) if (n.type === 'dir' && treeIds.length < 20) await collect(n.subtree);
  };
  await collect(snap.tree);
  // A blob stored as compact xz (format 2), and the same plaintext as a whole .xz stream (format 1).
  /** @type {{ id: unknown, plainLength: number } | null} */
  let compressedBlob = null;
  let compressedPayload = null;
  for (const e of [...repo.index.packEntries(treePack), ...repo.index.packEntries(dataPack)]) {
    const { payload } = await repo.loadBlobPayload(e.id);
    if (payload[0] === 2 && e.plainLength < 256 * 1024) {
      compressedBlob = e;
      compressedPayload = payload;
      break;
    }
  }
  if (!compressedBlob) throw new Error('the corpus store has no compressed blob');
  const wholeStreamPayload = await d.blob.encodeBlob(await repo.loadBlob(compressedBlob.id), true, repo.config.compression.preset, repo.xz);
  const idOfSha256 = (sha) => keys.blobIdOfSha256(sha);

  const isSinkiError = (err) => err instanceof d.errors.SinkiError;
  const sealedOpen =
    (kind, what, name = '') =>
    (bytes) =>
      d.sealed.openFile(keys, kind, bytes, what, name);
  const json = (v) => JSON.stringify(v);

  /** The read path of a restore for every blob the index names in this pack: open, decompress, check the id. */
  const readPackAsStore = (packId) => async (bytes) => {
    const header = d.packReader.readPackHeader(keys, bytes, packId);
    const out = [json(header.entries)];
    const key = keys.packKey(d.packFormat.parsePackPrefix(bytes.subarray(0, d.packFormat.PACK_PREFIX_LENGTH), packId).salt);
    for (const e of repo.index.packEntries(packId)) {
      const sealedBlob = bytes.subarray(e.offset, e.offset + e.length);
      if (sealedBlob.length !== e.length) throw new d.errors.SinkiError('CORRUPT', `pack ${packId} is truncated`);
      const payload = d.aead.open(keys.cipher, key, sealedBlob, keys.blobAad(e.kind, e.id), `blob ${e.id}`);
      const plain = await d.blob.decodeBlob(payload, e.plainLength, repo.xz, `blob ${e.id}`);
      if (keys.blobId(plain) !== e.id) throw new d.errors.SinkiError('CORRUPT', 'id mismatch');
      out.push(d.canonical.sha256Hex(plain));
    }
    return out.join('\n');
  };
  const keyFileText = read(`keys/${keyName}`).toString();
  const configText = read('sinki.json').toString();
  const unlockWith = async (text) => {
    const file = d.keyfile.parseKeyFile(text, `keys/${keyName}`);
    const master = await d.keyfile.unlockKeyFile(file, Buffer.from(PASSWORD), repo.config.id);
    // As Repository.open does: a key file that does not open is "wrong password" (a forged, self-consistent edit cannot be told from one).
    if (!master) throw new d.errors.SinkiError('WRONG_PASSWORD', 'wrong password');
    return master.encKey.toString('hex') + master.idKey.toString('hex');
  };
  const openConfig = (text) => json(d.storeConfig.verifyStoreConfig(d.storeConfig.parseStoreConfig(text), keys.configMacKey()));

  const indexPayload = sealedOpen(FileKind.Index, 'index')(read(`index/${segment}`));
  const snapshotPayload = sealedOpen(FileKind.Snapshot, 'snapshot')(read(`snapshots/${snap.id}`));
  const headPayload = sealedOpen(FileKind.Ref, 'refs/head', 'head')(read('refs/head'));
  const headerPlain = (() => {
    const bytes = read(`packs/${treePack.slice(0, 2)}/${treePack}`);
    const where = d.packFormat.parsePackFooter(bytes.subarray(bytes.length - 8), bytes.length, treePack);
    const key = keys.packKey(d.packFormat.parsePackPrefix(bytes, treePack).salt);
    return d.aead.open(
      keys.cipher,
      key,
      bytes.subarray(where.offset, where.offset + where.length),
      keys.packHeaderAad(bytes.subarray(0, d.packFormat.PACK_PREFIX_LENGTH)),
      'header',
    );
  })();

  /** @type {Array<{ name: string, contract: 'sealed'|'inner', bytes: Buffer, decode: (b: Buffer) => unknown, json?: boolean, original?: unknown }>} */
  const targets = [
    {
      name: `pack (${dataPack.slice(0, 8)}, data)`,
      contract: 'sealed',
      bytes: read(`packs/${dataPack.slice(0, 2)}/${dataPack}`),
      decode: readPackAsStore(dataPack),
    },
    {
      name: `pack (${treePack.slice(0, 8)}, trees)`,
      contract: 'sealed',
      bytes: read(`packs/${treePack.slice(0, 2)}/${treePack}`),
      decode: readPackAsStore(treePack),
    },
    {
      name: 'index segment',
      contract: 'sealed',
      bytes: read(`index/${segment}`),
      decode: (b) => json(d.index.decodeIndexSegment(sealedOpen(FileKind.Index, 'index')(b), 'index', true)),
    },
    {
      name: 'snapshot',
      contract: 'sealed',
      bytes: read(`snapshots/${snap.id}`),
      decode: (b) => json(d.snapshot.decodeSnapshot(sealedOpen(FileKind.Snapshot, 'snapshot')(b), 'snapshot')),
    },
    {
      name: 'refs/head',
      contract: 'sealed',
      bytes: read('refs/head'),
      decode: (b) => json(d.refs.decodeHead(sealedOpen(FileKind.Ref, 'refs/head', 'head')(b))),
    },
    { name: 'key file', contract: 'sealed', bytes: Buffer.from(keyFileText), decode: (b) => unlockWith(b.toString()) },
    {
      name: 'key file (JSON values, checksum recomputed)',
      contract: 'sealed',
      json: true,
      bytes: Buffer.from(keyFileText),
      decode: (b) => unlockWith(b.toString()),
    },
    { name: 'sinki.json', contract: 'sealed', bytes: Buffer.from(configText), decode: (b) => openConfig(b.toString()) },
    {
      name: 'sinki.json (JSON values, checksum recomputed)',
      contract: 'sealed',
      json: true,
      bytes: Buffer.from(configText),
      decode: (b) => openConfig(b.toString()),
    },
    {
      name: 'tree blob',
      contract: 'inner',
      bytes: await repo.loadBlob(treeIds[treeIds.length - 1]),
      decode: (b) => json(d.tree.decodeTree(b, 'tree', idOfSha256)),
    },
    {
      name: 'tree blob (binary, root)',
      contract: 'inner',
      bytes: await repo.loadBlob(treeIds[0]),
      decode: (b) => json(d.tree.decodeTree(b, 'tree', idOfSha256)),
    },
    {
      name: 'tree blob (format 1 JSON values)',
      contract: 'inner',
      json: true,
      bytes: d.tree.encodeTree(await repo.loadTree(treeIds[0])),
      decode: (b) => json(d.tree.decodeTree(b, 'tree')),
    },
    { name: 'index segment payload', contract: 'inner', bytes: indexPayload, decode: (b) => json(d.index.decodeIndexSegment(b, 'index', true)) },
    {
      name: 'index segment payload (format 1)',
      contract: 'inner',
      bytes: d.index.encodeIndexSegment(d.index.decodeIndexSegment(indexPayload, 'index', true), false),
      decode: (b) => json(d.index.decodeIndexSegment(b, 'index', false)),
    },
    { name: 'pack header entry list', contract: 'inner', bytes: headerPlain, decode: (b) => json(d.packFormat.decodeEntries(b, 0, 'header', true)) },
    {
      name: 'snapshot payload (JSON values)',
      contract: 'inner',
      json: true,
      bytes: snapshotPayload,
      decode: (b) => json(d.snapshot.decodeSnapshot(b, 'snapshot')),
    },
    { name: 'refs/head payload (JSON values)', contract: 'inner', json: true, bytes: headPayload, decode: (b) => json(d.refs.decodeHead(b)) },
    {
      name: 'blob payload (compact xz)',
      contract: 'inner',
      bytes: compressedPayload,
      decode: async (b) => d.canonical.sha256Hex(await d.blob.decodeBlob(b, compressedBlob.plainLength, repo.xz, 'blob')),
    },
    {
      name: 'blob payload (xz stream, format 1)',
      contract: 'inner',
      bytes: wholeStreamPayload,
      decode: async (b) => d.canonical.sha256Hex(await d.blob.decodeBlob(b, compressedBlob.plainLength, repo.xz, 'blob')),
    },
    {
      name: 'sinki.json (parseStoreConfig, checksum recomputed)',
      contract: 'inner',
      json: true,
      bytes: Buffer.from(configText),
      decode: (b) => json(d.storeConfig.parseStoreConfig(b.toString())),
    },
  ];
  for (const t of targets) t.original = await t.decode(t.bytes);
  return { targets, isSinkiError, withChecksum: d.canonical.withChecksum };
}

/**
 * Runs `iterations` mutations spread over the targets (round robin). Returns per-target counts
 * (same value, SinkiError by code, failures) and the failures themselves (at most a few per target).
 * @param {{ corpus: Awaited<ReturnType<typeof buildCorpus>>, iterations: number, seed: string|number, only?: (name: string) => boolean, onProgress?: (done: number) => void }} o
 */
export async function fuzz(o) {
  const { corpus } = o;
  const random = prng(`fuzz-${o.seed}`);
  const targets = corpus.targets.filter((t) => !o.only || o.only(t.name));
  /** @type {Map<string, { tried: number, same: number, other: number, errors: Record<string, number>, failures: number }>} */
  const stats = new Map(targets.map((t) => [t.name, { tried: 0, same: 0, other: 0, errors: {}, failures: 0 }]));
  const failures = [];
  for (let i = 0; i < o.iterations; i++) {
    const t = targets[i % targets.length];
    const s = /** @type {NonNullable<ReturnType<typeof stats.get>>} */ (stats.get(t.name));
    const { bytes, how } = mutate(random, t, corpus);
    s.tried += 1;
    const started = Date.now();
    let outcome;
    try {
      const value = await Promise.race([
        t.decode(bytes),
        new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer after ${SLOW_MS} ms (hang)`)), SLOW_MS).unref()),
      ]);
      outcome = value === t.original ? 'same' : t.contract === 'inner' ? 'other' : 'wrong';
    } catch (thrown) {
      const err = /** @type {any} */ (thrown);
      if (corpus.isSinkiError(err)) {
        s.errors[err.code] = (s.errors[err.code] ?? 0) + 1;
        outcome = 'error';
      } else outcome = `${err?.name ?? 'thrown'}: ${err?.message ?? String(err)}`;
    }
    if (Date.now() - started > SLOW_MS && outcome !== 'error') outcome = `slow (${Date.now() - started} ms)`;
    if (outcome === 'same') s.same += 1;
    else if (outcome === 'other') s.other += 1;
    else if (outcome !== 'error') {
      s.failures += 1;
      if (failures.filter((f) => f.target === t.name).length < 5)
        failures.push({ target: t.name, iteration: i, mutation: how, outcome: outcome === 'wrong' ? 'a different value, without an error' : outcome });
    }
    if (o.onProgress && (i + 1) % 500 === 0) o.onProgress(i + 1);
  }
  return { stats: [...stats].map(([name, s]) => ({ name, contract: targets.find((t) => t.name === name)?.contract, ...s })), failures };
}

function mutate(random, t, corpus) {
  if (t.json) {
    const value = JSON.parse(t.bytes.toString());
    let mutated = mutateJsonValue(random, value);
    // A forged edit: the self-checksum is made to match, as a careful hand (or a bug) would.
    if (mutated && typeof mutated === 'object' && !Array.isArray(mutated) && 'checksum' in value)
      mutated = corpus.withChecksum(Object.fromEntries(Object.entries(mutated).filter(([k]) => k !== 'checksum')));
    return { bytes: Buffer.from(JSON.stringify(mutated) ?? 'undefined'), how: 'JSON value' };
  }
  let bytes = t.bytes;
  const hows = [];
  for (let k = 0, n = 1 + below(random, 3); k < n; k++) {
    const [name, fn] = BYTE_MUTATIONS[below(random, BYTE_MUTATIONS.length)];
    bytes = fn(random, bytes);
    hows.push(name);
  }
  return { bytes, how: hows.join(', ') };
}
