// peers-tools.mjs — how scripts/bench-peers drives each tool: one adapter per tool (and per setting).
//
// Every command is a bash line written as a template with {TOKENS}. For running, the tokens become
// shell-quoted real paths; for the "exact commands" table in docs/BENCHMARKS.md they become $TOKENS.
// Tokens: {SINKI} (dist/cli/main.js of the build under test), {SRC} (the dataset), {STORE} (the
// tool's store/repository/cipher folder), {T} (a restore target, made empty beforehand), {REL}
// (the single file, relative to the dataset), {MNT} (a mountpoint), {ARCHIVE} (borg archive name),
// {PWFILE} (file holding the password), {CACHE} (rclone VFS cache folder), {PIDFILE}.
import path from 'node:path';
import { shq } from './measure.mjs';

/** The sub-folder name the dataset has (sinki keeps the basename of a backed-up path). */
export const DATASET_NAME = 'dataset';

/** gocryptfs as a copy target: mount in the foreground behind the command, run it, unmount. */
function inGocryptfs(cmd) {
  return [
    `gocryptfs -f -q -extpass 'cat {PWFILE}' {STORE} {MNT} & echo $! > {PIDFILE}`,
    `for i in $(seq 1200); do mountpoint -q {MNT} && break; sleep 0.05; done; mountpoint -q {MNT}`,
    cmd,
    `fusermount -u {MNT}; wait`,
  ].join('\n');
}

/**
 * The tools, in the order of the first round. Fields:
 *   id, label, settings (printed with the results), kind ('backup' = snapshots, 'copy' = encrypted folder)
 *   init, backup, rerun, restore, single: templates (restore/single run with cwd = {T} when cwdT)
 *   restoredRoot(T): where the dataset lands under T; singlePath(T, rel): where the single file lands
 *   mountRead / mountWrite: { start (foreground command), root(MNT), stop ('fusermount' | template) } or null
 */
export function toolList() {
  const sinkiMount = (extra) => ({
    start: `node {SINKI} -s {STORE} mount {MNT} ${extra}`,
    root: (mnt) => (extra.includes('--snapshot') ? path.join(mnt, DATASET_NAME) : mnt),
    stop: `node {SINKI} umount {MNT}`,
  });
  const resticT = (opt) => ({
    kind: 'backup',
    init: `restic -r {STORE} init --repository-version 2`,
    backup: `cd {SRC} && restic -r {STORE} backup . -q${opt}`,
    rerun: `cd {SRC} && restic -r {STORE} backup . -q${opt}`,
    restore: `restic -r {STORE} restore latest --target {T} -q`,
    single: `restic -r {STORE} restore latest --target {T} --include /{REL} -q`,
    restoredRoot: (t) => t,
    singlePath: (t, rel) => path.join(t, rel),
    mountRead: { start: `restic -r {STORE} mount {MNT}`, root: (mnt) => path.join(mnt, 'snapshots', 'latest'), stop: 'fusermount' },
    mountWrite: null,
  });
  const borgT = (opt) => ({
    kind: 'backup',
    init: `borg init -e repokey {STORE}`,
    backup: `cd {SRC} && borg create${opt} {STORE}::{ARCHIVE} .`,
    rerun: `cd {SRC} && borg create${opt} {STORE}::{ARCHIVE} .`,
    restore: `cd {T} && borg extract {STORE}::{ARCHIVE}`,
    single: `cd {T} && borg extract {STORE}::{ARCHIVE} {REL}`,
    restoredRoot: (t) => t,
    singlePath: (t, rel) => path.join(t, rel),
    mountRead: { start: `borg mount -f {STORE}::{ARCHIVE} {MNT}`, root: (mnt) => mnt, stop: 'fusermount' },
    mountWrite: null,
  });
  return [
    {
      id: 'sinki',
      label: 'sinki',
      settings: 'xz preset 1 (`init --preset 1`), AES-128-GCM, FastCDC backup chunks; PBKDF2 100k iterations',
      kind: 'backup',
      init: `node {SINKI} -s {STORE} init --preset 1 --kdf pbkdf2 --kdf-iterations 100000 --insecure-kdf`,
      backup: `node {SINKI} -s {STORE} backup {SRC} --json`,
      rerun: `node {SINKI} -s {STORE} backup {SRC} --json`,
      restore: `node {SINKI} -s {STORE} restore latest {T}`,
      single: `node {SINKI} -s {STORE} restore latest {T} --include /${DATASET_NAME}/{REL}`,
      restoredRoot: (t) => path.join(t, DATASET_NAME),
      singlePath: (t, rel) => path.join(t, DATASET_NAME, rel),
      mountRead: sinkiMount('--snapshot latest --read-only'),
      mountWrite: sinkiMount('--no-snapshot-on-unmount'),
    },
    {
      id: 'borg-lzma1',
      label: 'borg lzma,1',
      settings: '`--compression lzma,1` (xz preset 1, like sinki), `init -e repokey` (AES-CTR-256 + HMAC-SHA256)',
      ...borgT(' --compression lzma,1'),
    },
    {
      id: 'restic',
      label: 'restic',
      settings: 'defaults (repository v2, compression auto = zstd fastest), AES-256-CTR + Poly1305',
      ...resticT(''),
    },
    {
      id: 'gocryptfs',
      label: 'gocryptfs',
      settings: 'defaults (AES-256-GCM, scrypt); backup = `cp -a` into the mount, re-runs = `rsync -a --delete`',
      kind: 'copy',
      init: `gocryptfs -q -init -extpass 'cat {PWFILE}' {STORE}`,
      backup: inGocryptfs(`cp -a {SRC}/. {MNT}/`),
      rerun: inGocryptfs(`rsync -a --delete {SRC}/ {MNT}/`),
      restore: inGocryptfs(`cp -a {MNT}/. {T}/`),
      single: inGocryptfs(`mkdir -p "$(dirname {T}/{REL})" && cp -a {MNT}/{REL} {T}/{REL}`),
      restoredRoot: (t) => t,
      singlePath: (t, rel) => path.join(t, rel),
      mountRead: { start: `gocryptfs -f -q -extpass 'cat {PWFILE}' {STORE} {MNT}`, root: (mnt) => mnt, stop: 'fusermount' },
      mountWrite: { start: `gocryptfs -f -q -extpass 'cat {PWFILE}' {STORE} {MNT}`, root: (mnt) => mnt, stop: 'fusermount' },
    },
    {
      id: 'borg',
      label: 'borg default',
      settings: 'defaults (`--compression lz4`), `init -e repokey`',
      ...borgT(''),
    },
    {
      id: 'restic-max',
      label: 'restic max',
      settings: '`--compression max` (zstd best), repository v2',
      ...resticT(' --compression max'),
    },
    {
      id: 'rclone',
      label: 'rclone crypt',
      settings:
        'crypt remote (standard name encryption, password via `rclone obscure`) over a local folder; backup = `rclone copy`, re-runs = `rclone sync` (`--ignore-errors`: deletes even when one file failed), `--retries 1` (no whole-run retries), `-l` keeps symlinks as .rclonelink files; mount read `--vfs-cache-mode full`, write `--vfs-cache-mode writes --vfs-write-back 0s`',
      kind: 'copy',
      init: `true`,
      backup: `rclone copy -l --create-empty-src-dirs --retries 1 {SRC} enc:`,
      rerun: `rclone sync -l --create-empty-src-dirs --retries 1 --ignore-errors {SRC} enc:`,
      restore: `rclone copy -l --create-empty-src-dirs --retries 1 enc: {T}`,
      single: `rclone copyto enc:{REL} {T}/{REL}`,
      restoredRoot: (t) => t,
      singlePath: (t, rel) => path.join(t, rel),
      mountRead: { start: `rclone mount enc: {MNT} --vfs-cache-mode full --cache-dir {CACHE}`, root: (mnt) => mnt, stop: 'fusermount' },
      mountWrite: {
        start: `rclone mount enc: {MNT} --vfs-cache-mode writes --vfs-write-back 0s --cache-dir {CACHE}`,
        root: (mnt) => mnt,
        stop: 'fusermount',
        asyncUpload: true,
      },
    },
  ];
}

/** Fill a template: real values shell-quoted (for running), or `$NAME` (for the docs). */
export function fill(template, vars, { forDocs = false } = {}) {
  return template.replace(/\{([A-Z]+)\}/g, (m, k) => {
    if (forDocs) return `$${k}`;
    if (!(k in vars)) throw new Error(`template token ${m} has no value: ${template}`);
    return shq(vars[k]);
  });
}
