/*
 * The JSON every command prints with --json, one JSON Schema (draft 2020-12 keywords, a small
 * subset: type, properties, required, additionalProperties, items, enum, const, oneOf, minimum) per
 * command. Each line a command writes to stdout with --json is one JSON document matching its
 * schema. docs/JSON.md describes them; test/integration/json-output.test.ts checks real output against them with the validator in test/helpers/json-schema.ts.
 */

export interface JsonSchema {
  type?: JsonType | JsonType[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean;
  items?: JsonSchema;
  enum?: ReadonlyArray<string | number | boolean | null>;
  const?: string | number | boolean | null;
  oneOf?: JsonSchema[];
  minimum?: number;
  description?: string;
}

export type JsonType = 'object' | 'array' | 'string' | 'number' | 'integer' | 'boolean' | 'null';

const str: JsonSchema = { type: 'string' };
const count: JsonSchema = { type: 'integer', minimum: 0 };
const bool: JsonSchema = { type: 'boolean' };
const strOrNull: JsonSchema = { type: ['string', 'null'] };
const strings: JsonSchema = { type: 'array', items: str };
const hexId: JsonSchema = { type: 'string', description: 'hex' };

/** An object with exactly these properties, all required unless listed in `optional`. */
function obj(properties: Record<string, JsonSchema>, optional: string[] = []): JsonSchema {
  return { type: 'object', properties, required: Object.keys(properties).filter((k) => !optional.includes(k)), additionalProperties: false };
}

/** One JSON line of a given `type`. */
function line(type: string, properties: Record<string, JsonSchema>, optional: string[] = []): JsonSchema {
  return obj({ type: { const: type }, ...properties }, optional);
}

const progress = line('progress', {
  files_done: count,
  bytes_done: count,
  files_total: { type: ['integer', 'null'], minimum: 0 },
  bytes_total: { type: ['integer', 'null'], minimum: 0 },
  bytes_per_second: count,
  eta_seconds: { type: ['integer', 'null'], minimum: 0 },
});

const snapshotSummary = obj(
  {
    files: count,
    filesNew: count,
    filesChanged: count,
    filesUnchanged: count,
    dirs: count,
    bytes: count,
    newBytes: count,
    storedBytes: count,
    packsWritten: count,
    durationMs: count,
    errors: count,
  },
  ['filesNew', 'filesChanged', 'filesUnchanged'],
);

const backupSummary = line('summary', {
  snapshot_id: hexId,
  parent: strOrNull,
  files: count,
  files_new: count,
  files_changed: count,
  files_unchanged: count,
  dirs: count,
  bytes: count,
  new_bytes: count,
  stored_bytes: count,
  packs_written: count,
  duration_ms: count,
  warnings: count,
});

const forget = line('forget', {
  dry_run: bool,
  snapshots: { type: 'array', items: obj({ id: hexId, time: str, keep: bool, reasons: strings }) },
});

const prune = line('prune', {
  dry_run: bool,
  used_blobs: count,
  delete_packs: count,
  repack_packs: count,
  unindexed_packs: count,
  kept_packs: count,
  bytes_to_free: count,
});

const pushPhase = obj({ name: str, bytes: count, transfers: count });

const pushSummary = line('summary', {
  remote: str,
  dry_run: bool,
  bytes: count,
  files: count,
  phases: { type: 'array', items: pushPhase },
  verified: { oneOf: [{ type: 'null' }, obj({ objects: count, bad: strings })] },
  duration_ms: count,
});

const pushProgress = line('progress', {
  phase: str,
  bytes: count,
  total_bytes: count,
  bytes_per_second: count,
  eta_seconds: { type: ['number', 'null'] },
  transfers: count,
  total_transfers: count,
});

const check = line('check', {
  ok: bool,
  read_data: bool,
  snapshots: count,
  packs: count,
  unreferenced_packs: strings,
  blobs_checked: count,
  problems: strings,
  notes: strings,
});

/** The summary a --on-success / --on-failure hook reads on stdin. */
const hook = obj({
  command: { enum: ['backup', 'push', 'check', 'forget', 'prune'] },
  store: strOrNull,
  ok: bool,
  exit_code: count,
  error: strOrNull,
  started: str,
  duration_ms: count,
  bytes: { type: ['integer', 'null'], minimum: 0 },
  files: { type: ['integer', 'null'], minimum: 0 },
  errors: { type: ['integer', 'null'], minimum: 0 },
  summary: { type: ['object', 'null'] },
});

/** Command (as typed after `sinki`) → the schema of each line it prints with --json. */
export const JSON_SCHEMAS: Readonly<Record<string, JsonSchema>> = {
  init: line('init', { id: hexId, format: count, location: str, cipher: str, key_id: str, kdf: str, chunk_size: count, pack_size: count, preset: count }),
  backup: { oneOf: [progress, line('warning', { path: str, message: str }), backupSummary] },
  snapshots: {
    type: 'array',
    items: obj({
      id: hexId,
      short_id: str,
      time: str,
      host: str,
      username: str,
      paths: strings,
      tags: strings,
      tree: hexId,
      parent: strOrNull,
      summary: { oneOf: [{ type: 'null' }, snapshotSummary] },
    }),
  },
  ls: obj(
    {
      path: str,
      name: str,
      type: { enum: ['file', 'dir', 'symlink'] },
      size: count,
      mode: count,
      uid: count,
      gid: count,
      mtime: str,
      target: str,
      sha256: hexId,
    },
    ['target', 'sha256'],
  ),
  restore: {
    oneOf: [
      progress,
      line('error', { path: str, message: str }),
      line('summary', { snapshot_id: hexId, files: count, bytes: count, skipped: count, skipped_bytes: count, failed: count }),
    ],
  },
  versions: line(
    'version',
    {
      path: str,
      name: str,
      kind: { enum: ['file', 'symlink'] },
      snapshot_id: hexId,
      time: str,
      last_snapshot_id: hexId,
      last_time: str,
      snapshots: count,
      size: count,
      mtime: str,
      sha256: hexId,
      target: str,
    },
    ['sha256', 'target'],
  ),
  find: line('match', { path: str, kind: { enum: ['file', 'dir', 'symlink'] }, versions: count, first_time: str, last_time: str }),
  snapshot: line('snapshot', { id: hexId, short_id: str, taken_by_mount: bool }),
  umount: line('umount', { mountpoint: str, result: { enum: ['unmounted', 'cleared-stale'] } }),
  mounts: {
    type: 'array',
    items: obj({
      mountpoint: str,
      read_only: bool,
      state: { enum: ['answering', 'stale', 'silent'] },
      pid: { type: ['integer', 'null'] },
      write_sizes: { oneOf: [{ type: 'null' }, { type: 'object' }] },
    }),
  },
  push: { oneOf: [pushProgress, pushSummary] },
  check,
  forget: { oneOf: [forget, prune] },
  prune,
  compact: prune,
  'repair index': line('repair-index', { packs: count, blobs: count, damaged: { type: 'array', items: obj({ pack: hexId, kept_blobs: count, reason: str }) } }),
  'key list': { type: 'array', items: obj({ id: str, current: bool, created: strOrNull, host: strOrNull, kdf: strOrNull, error: strOrNull }) },
  'key add': line('key-add', { id: str, kdf: str }),
  'key remove': line('key-remove', { id: str }),
  'key passwd': line('key-passwd', { old_id: str, new_id: str, kdf: str }),
  unlock: line('unlock', { removed: count }),
  doctor: { type: 'array', items: obj({ name: str, ok: bool, detail: str, fix: str, required: bool }, ['fix']) },
  hook,
};
