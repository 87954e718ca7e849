import { fork } from 'node:child_process';
import { constants as fsConstants, promises as fs } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { EXIT_OK, exitCodeOf, SinkiError } from '../errors.js';
import { childEnv } from '../sys/child-env.js';
import { fusermount } from '../sys/fusermount.js';
import { isMountPoint } from '../sys/mounts.js';
import { mountpointSocketPath, sendControl, storeSocketPath } from '../fuse/control.js';
import { isRcloneLocation } from '../backend/rclone.js';
import { CONFIG_FILE } from '../repo/layout.js';
import type { StoreLock } from '../repo/lock.js';
import { parseStoreConfig } from '../repo/store-config.js';
import { parseDuration, parseSize } from '../units.js';
import { action } from './action.js';
import { collect } from './options.js';
import { printJson } from './output.js';
import { StatusLine } from './progress.js';

interface MountFlags {
  background?: boolean;
  readOnly?: boolean;
  snapshot?: string;
  writeBuffer: string;
  cacheSize: string;
  snapshotEvery?: string;
  snapshotOnUnmount: boolean;
  commitDelay: string;
  bigWrites: boolean;
  patchedFuseNative: boolean;
  traceOps?: string;
  deferredCompression: boolean;
}

const CHILD_ENV = 'SINKI_MOUNT_CHILD';

function log(line: string): void {
  process.stderr.write(`sinki: ${new Date().toISOString().slice(11, 19)} ${line}\n`);
}

/** --background: a detached child mounts; the parent hands it the password over IPC and waits until it is up. */
async function mountInBackground(password: Buffer, mountpoint: string): Promise<number> {
  const abs = resolve(mountpoint);
  const logFile = join(dirname(abs), `.${basename(abs)}.sinki-mount.log`);
  const out = await openMountLog(logFile);
  const args = process.argv.slice(2).filter((a) => a !== '--background');
  const child = fork(process.argv[1]!, args, { detached: true, stdio: ['ignore', out.fd, out.fd, 'ipc'], env: childEnv({ [CHILD_ENV]: '1' }) });
  child.send({ password: password.toString('utf8') });
  const outcome = await new Promise<{ ok: boolean; error?: string; code?: number }>((res) => {
    child.on('message', (m) => res(m as { ok: boolean; error?: string }));
    child.on('exit', (code) => res({ ok: false, error: `mount process exited (code ${code}); see ${logFile}`, code: code ?? exitCodeOf('FATAL') }));
  });
  await out.close();
  if (!outcome.ok) {
    process.stderr.write(`sinki: ${outcome.error}\n`);
    return outcome.code ?? exitCodeOf('FATAL');
  }
  if (child.connected) child.disconnect();
  child.unref();
  process.stdout.write(`mounted at ${resolve(mountpoint)} (pid ${child.pid}, log ${logFile}); unmount with: sinki umount ${mountpoint}\n`);
  return EXIT_OK;
}

/**
 * The log beside the mountpoint, appended to. Its folder may be shared (/tmp): a symlink or a file of
 * another user planted under that name is refused, never followed or written.
 */
async function openMountLog(logFile: string): Promise<fs.FileHandle> {
  const { O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW } = fsConstants;
  const out = await fs.open(logFile, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, 0o600).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ELOOP') throw new SinkiError('USAGE', `the mount log ${logFile} is a symlink; remove it first`);
    throw err;
  });
  const st = await out.stat();
  if (!st.isFile() || st.uid !== (process.getuid?.() ?? 0)) {
    await out.close();
    throw new SinkiError('USAGE', `the mount log ${logFile} is not a file of this user; remove it first`);
  }
  return out;
}

function passwordFromParent(): Promise<Buffer> {
  return new Promise((res) => process.once('message', (m: { password: string }) => res(Buffer.from(m.password, 'utf8'))));
}

export function registerMount(program: Command): void {
  program
    .command('mount')
    .description('mount the store as a folder: / is the live tree (read-write), /.snapshots holds every snapshot read-only')
    .argument('<mountpoint>', 'an existing empty folder')
    .option('--background', 'detach once the mount is up (log next to the mountpoint)')
    .option('--read-only', 'mount read-only')
    .option('--snapshot <id>', 'mount one snapshot (id prefix or "latest"), read-only')
    .option('--write-buffer <size>', 'memory for data not yet sealed', '64M')
    .option('--cache-size <size>', 'memory for the plaintext chunk cache', '256M')
    .option('--snapshot-every <duration>', 'take a snapshot of the live tree this often (e.g. 1h)')
    .option('--no-snapshot-on-unmount', 'do not take a snapshot when unmounting')
    .option('--commit-delay <duration>', 'commit this long after the last change', '1s')
    .option(
      '--no-deferred-compression',
      'compress every chunk before storing it, even when writes outrun the compressor (slower writes; by default such chunks are stored uncompressed and compressed when writes pause or at unmount)',
    )
    .option('--no-big-writes', "diagnostic: keep libfuse's 4 KiB write calls (to measure what big writes gain)")
    .option(
      '--trace-ops <file>',
      'diagnostic: append a line per FUSE operation to FILE (start ms since mount, duration ms, operation, result, path): what a program asked of the mount and how long each answer took',
    )
    .option('--no-patched-fuse-native', 'diagnostic: use the shipped fuse-native even when the patched one is built (what a machine without it gets)')
    .action(
      action(async (ctx, mountpoint: string, flags: MountFlags) => {
        const cfg = {
          mountpoint,
          snapshot: flags.snapshot,
          readOnly: Boolean(flags.readOnly),
          writeBuffer: parseSize(flags.writeBuffer, '--write-buffer'),
          cacheSize: parseSize(flags.cacheSize, '--cache-size'),
          quietMs: parseDuration(flags.commitDelay, '--commit-delay'),
          snapshotEveryMs: flags.snapshotEvery ? parseDuration(flags.snapshotEvery, '--snapshot-every') : undefined,
          snapshotOnUnmount: flags.snapshotOnUnmount,
          bigWrites: flags.bigWrites,
          patchedFuseNative: flags.patchedFuseNative,
          deferCompression: flags.deferredCompression,
          traceFile: flags.traceOps === undefined ? undefined : resolve(flags.traceOps),
          controlDir: ctx.controlDir(),
          log,
        };
        const isChild = process.env[CHILD_ENV] === '1' && process.send !== undefined;
        if (flags.background && !isChild) return mountInBackground(await ctx.password(), mountpoint);
        const password = isChild ? await passwordFromParent() : undefined;
        // FUSE and the store modules load here, not for `--help` (loading fuse-native alone is noticeable).
        const [{ MountSession, prepareMountpoint }, { StoreLock }] = await Promise.all([import('../fuse/mount-session.js'), import('../repo/lock.js')]);
        // A read-write mount of the live tree is its one writer: a second one, from this host or
        // another sharing the store folder, is refused (exit 11) instead of racing it on refs/head.
        const liveWriter = !cfg.snapshot && !cfg.readOnly && !isRcloneLocation(ctx.storeLocation());
        try {
          // What is wrong with the mountpoint is said before the store is opened or locked.
          await prepareMountpoint(resolve(mountpoint), log);
          await ctx.withStore(
            'mount',
            false,
            async (repo, lock) => {
              const lockExclusively = (): Promise<StoreLock> => StoreLock.acquire(repo.backend, true, 'mount: free uncompressed copies', { besides: lock });
              const { CompressionBacklog } = await import('../fuse/backlog.js');
              const backlog = CompressionBacklog.forStore(ctx.cacheRoot(), repo.config.id);
              const session = await MountSession.start(repo, {
                ...cfg,
                lockExclusively,
                asOneCommit: (fn) => lock.asOneCommit(fn),
                backlog,
                storeRequests: () => ctx.counted,
              });
              const stop = (): void => void session.stop();
              process.on('SIGINT', stop);
              process.on('SIGTERM', stop);
              process.on('SIGHUP', stop);
              const mode = cfg.snapshot ? `snapshot ${cfg.snapshot}, read-only` : cfg.readOnly || !repo.backend.writable ? 'read-only' : 'read-write';
              log(`mounted ${repo.backend.location} at ${resolve(mountpoint)} (${mode}); Ctrl-C or "sinki umount ${mountpoint}" to unmount`);
              if (isChild) {
                process.send!({ ok: true });
                process.disconnect();
              }
              await session.done;
              process.off('SIGINT', stop);
              process.off('SIGTERM', stop);
              process.off('SIGHUP', stop);
              log(`unmounted ${resolve(mountpoint)}`);
            },
            { password, ownSignals: true, repo: { treesOnCallingThread: true }, role: liveWriter ? 'live-writer' : undefined },
          );
        } catch (err) {
          if (isChild) process.send!({ ok: false, error: (err as Error).message, code: (err as SinkiError).exitCode ?? exitCodeOf('FATAL') });
          throw err;
        }
      }),
    );

  program
    .command('umount')
    .alias('unmount')
    .description('commit and unmount a sinki mount (clears a stale one too)')
    .argument('<mountpoint>')
    .option('--json', 'print as JSON')
    .action(
      action(async (ctx, mountpoint: string, flags: { json?: boolean }) => {
        const say = (how: 'unmounted' | 'cleared-stale', text: string): void =>
          flags.json ? printJson({ type: 'umount', mountpoint: resolve(mountpoint), result: how }) : void process.stdout.write(text);
        // The mount seals what is dirty and commits (it does not wait for the compressor): seconds,
        // longer only for a large write buffer on a slow disk. No time limit: the answer comes, or
        // the connection closes with the mount process.
        const status = StatusLine.choose(Boolean(flags.json));
        const asked = Date.now();
        const waiting = setInterval(() => {
          const s = Math.round((Date.now() - asked) / 1000);
          status.update(
            `umount: waiting ${s} s for the mount at ${resolve(mountpoint)} to seal and commit what is still in its write buffer (its log says what it does)`,
          );
        }, 1000);
        const reply = await sendControl(mountpointSocketPath(ctx.controlDir(), mountpoint), { op: 'unmount' }, null).finally(() => {
          clearInterval(waiting);
          status.done();
        });
        if (reply?.ok) {
          say('unmounted', `unmounted ${resolve(mountpoint)}\n`);
          return;
        }
        if (reply && !reply.ok) throw new SinkiError('FATAL', `unmount failed: ${reply.error}`);
        const stale = await fs.stat(mountpoint).then(
          () => false,
          (err: NodeJS.ErrnoException) => err.code === 'ENOTCONN',
        );
        if (!stale && !(await isMountPoint(mountpoint))) {
          throw new SinkiError('NOT_FOUND', `nothing is mounted at ${mountpoint}`);
        }
        await fusermount(stale ? ['-uz'] : ['-u'], resolve(mountpoint));
        if (stale) say('cleared-stale', `cleared the stale mount at ${resolve(mountpoint)} (its process had died; what it had committed is in the store)\n`);
        else say('unmounted', `unmounted ${resolve(mountpoint)}\n`);
      }),
    );

  program
    .command('snapshot')
    .description('turn the live tree (what the read-write mount shows) into a snapshot; works while mounted')
    .option('--tag <tag>', 'tag the snapshot (repeatable)', collect, [])
    .option('--json', 'print as JSON')
    .action(
      action(async (ctx, flags: { tag: string[]; json?: boolean }) => {
        const say = (id: string, byMount: boolean): void =>
          flags.json
            ? printJson({ type: 'snapshot', id, short_id: id.slice(0, 12), taken_by_mount: byMount })
            : void process.stdout.write(`snapshot ${id.slice(0, 12)} saved${byMount ? ' (taken by the running mount)' : ''}\n`);
        const config = parseStoreConfig(
          (
            await ctx
              .backend()
              .read(CONFIG_FILE)
              .catch(() => {
                throw new SinkiError('NOT_A_STORE', `${ctx.storeLocation()} is not a sinki store`);
              })
          ).toString(),
        );
        const reply = await sendControl(storeSocketPath(ctx.controlDir(), config.id), { op: 'snapshot', tags: flags.tag });
        if (reply && !reply.ok) throw new SinkiError('FATAL', `the mount could not take the snapshot: ${reply.error}`);
        if (reply?.ok) {
          say((reply.result as { id: string }).id, true);
          return;
        }
        const { readHead, snapshotLiveTree } = await import('../repo/refs.js');
        await ctx.withStore('snapshot', false, async (repo) => {
          const head = await readHead(repo);
          if (!head) throw new SinkiError('NOT_FOUND', 'the store has no live tree yet: mount it and copy files in first');
          const id = await snapshotLiveTree(repo, head.tree, flags.tag);
          say(id, false);
        });
      }),
    );
}
