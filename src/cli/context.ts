import { resolve } from 'node:path';
import { EXIT_INTERRUPTED, SinkiError } from '../errors.js';
import type { Backend } from '../backend/backend.js';
import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CountingBackend, type RequestCounts } from '../backend/counting.js';
import { LocalBackend } from '../backend/local.js';
import { RangeCache } from '../backend/range-cache.js';
import { isRcloneLocation, RcloneBackend, RCLONE_PREFIX } from '../backend/rclone.js';
import { Rclone } from '../rclone/rclone.js';
import { parseSize } from '../units.js';
import { Repository, type RepositoryOptions } from '../repo/repository.js';
import { GuardedBackend } from '../repo/guarded-backend.js';
import { StoreLock, type LockRecord } from '../repo/lock.js';
import { controlDir } from '../fuse/control.js';
import { FileKeyMemory, type KeyMemory } from '../repo/key-memory.js';
import { FileGenerationMemory, type GenerationMemory } from '../repo/generation-memory.js';
import { findRollback } from '../repo/generation.js';
import { describeKdf } from '../crypto/kdf.js';
import { readPassword, type PasswordSources } from './password.js';
import { warnLine } from './output.js';

/** Global flags and the environment, read once at the edge. */
export interface GlobalOptions {
  store?: string;
  passwordFile?: string;
  passwordCommand?: string;
  verbose?: boolean;
  rclone?: string;
  cacheDir?: string;
  cacheMaxSize?: string;
  /** --key ID: open with this key file only. */
  key?: string;
  /** --allow-rollback: a store older than this machine has seen is a warning, not an error. */
  allowRollback?: boolean;
  /** --progress: progress lines also on a pipe; --quiet: none. */
  progress?: boolean;
  quiet?: boolean;
}

export interface Environment {
  SINKI_STORE?: string;
  SINKI_PASSWORD?: string;
  SINKI_NEW_PASSWORD?: string;
  SINKI_RCLONE?: string;
  XDG_CACHE_HOME?: string;
  XDG_RUNTIME_DIR?: string;
}

export class CliContext {
  /**
   * Requests the last opened store was asked (above the remote's range cache), and for a remote the
   * fetches that reached it.
   */
  counted: { counts: RequestCounts; remote: { requests: number; bytes: number } | null } | null = null;
  constructor(
    readonly globals: GlobalOptions,
    private readonly env: Environment,
  ) {}

  storeLocation(): string {
    const loc = this.globals.store ?? this.env.SINKI_STORE;
    if (!loc) throw new SinkiError('USAGE', 'no store given: use -s/--store PATH or set SINKI_STORE');
    return loc;
  }

  rclone(): Rclone {
    return new Rclone({ binary: this.globals.rclone ?? this.env.SINKI_RCLONE ?? 'rclone', env: {} });
  }

  /** A local folder, or `rclone:REMOTE:PATH` (read-only, ranged reads through a capped local ciphertext cache). */
  backend(): Backend {
    const location = this.storeLocation();
    if (!isRcloneLocation(location)) return new LocalBackend(resolve(location));
    const remote = location.slice(RCLONE_PREFIX.length);
    if (!remote) throw new SinkiError('USAGE', 'give the remote as rclone:REMOTE:PATH');
    const cacheDir = join(this.cacheRoot(), createHash('sha256').update(remote).digest('hex').slice(0, 16));
    const cap = parseSize(this.globals.cacheMaxSize ?? '1G', '--cache-max-size');
    return new RcloneBackend(this.rclone(), remote, cap > 0 ? new RangeCache(cacheDir, cap) : null);
  }

  /** --cache-dir, else $XDG_CACHE_HOME/sinki or ~/.cache/sinki: what is kept here costs time or space when lost, never data. */
  cacheRoot(): string {
    return this.globals.cacheDir ?? this.cacheHome();
  }

  /** ~/.cache/sinki, or under $XDG_CACHE_HOME. */
  private cacheHome(): string {
    return join(this.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'sinki');
  }

  /** Which key opened each store last time on this machine (store and key ids only). */
  keyMemory(): KeyMemory {
    return new FileKeyMemory(join(this.cacheHome(), 'keys-used'));
  }

  /** The newest generation of each store seen on this machine (docs/STORE-FORMAT.md, "Generations"). */
  generationMemory(): GenerationMemory {
    return new FileGenerationMemory(join(this.cacheHome(), 'generations'));
  }

  /**
   * Refuses (exit 13) a store that was rolled back: older than its newest generation says, or older
   * than this machine has seen it. With --allow-rollback, one warning, and its state is taken as it is.
   */
  private async checkRollback(repo: Repository, memory: GenerationMemory): Promise<void> {
    const remembered = await memory.recall(repo.config.id, repo.backend.location);
    const { problems, newest } = await findRollback(repo, remembered);
    if (problems.length > 0) {
      const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
      const what = `the store was rolled back or tampered with: ${problems[0]}${more}`;
      if (!this.globals.allowRollback) throw new SinkiError('CORRUPT', `${what}; give --allow-rollback to use it as it is`);
      warnLine(`${what}; going on (--allow-rollback)`);
      await memory.remember(repo.config.id, repo.backend.location, newest?.counter ?? 0, true);
      return;
    }
    if (newest) await memory.remember(repo.config.id, repo.backend.location, newest.counter);
  }

  /** Where running mounts listen for `sinki umount` and `sinki snapshot`. */
  controlDir(): string {
    return controlDir(this.env.XDG_RUNTIME_DIR);
  }

  /** SINKI_NEW_PASSWORD, for `key add` and `key passwd`. */
  get newPasswordFromEnv(): string | undefined {
    return this.env.SINKI_NEW_PASSWORD;
  }

  passwordSources(): PasswordSources {
    return { envPassword: this.env.SINKI_PASSWORD, passwordFile: this.globals.passwordFile, passwordCommand: this.globals.passwordCommand };
  }

  password(confirm = false): Promise<Buffer> {
    return readPassword(this.passwordSources(), `password for ${this.storeLocation()}: `, confirm);
  }

  /**
   * Opens and unlocks the store under a lock, runs `fn`, and always releases the lock. Ctrl-C
   * releases it and exits 130, unless the command handles signals itself (`ownSignals`).
   */
  async withStore<T>(purpose: string, exclusive: boolean, fn: (repo: Repository, lock: StoreLock) => Promise<T>, opts: StoreOpenOptions = {}): Promise<T> {
    const raw = this.backend();
    const counting = new CountingBackend(raw);
    this.counted = { counts: counting.counts, remote: raw instanceof RcloneBackend ? raw.fetched : null };
    if (exclusive && !raw.writable) throw new SinkiError('USAGE', `cannot ${purpose} a remote store; change the local store and push it`);
    const key = this.globals.key;
    if (key !== undefined && !/^[0-9A-Za-z._-]{1,64}$/.test(key))
      throw new SinkiError('USAGE', `--key ${key}: not a key id (the file name in keys/ without .json)`);
    const password = opts.password ?? (await this.password());
    const backend = new GuardedBackend(counting);
    // The key opens before the lock is written (a wrong password or a folder that is no store leaves
    // nothing behind); the index loads only under the lock, so it cannot name packs that a prune
    // holding the store deletes meanwhile.
    const generations = this.generationMemory();
    const repoOptions = { ...opts.repo, generations };
    let lock: StoreLock | null = null;
    const interrupted = (): void => {
      process.stderr.write('\nsinki: interrupted; what was committed stays in the store\n');
      void (lock?.release() ?? Promise.resolve()).finally(() => process.exit(EXIT_INTERRUPTED));
    };
    if (!opts.ownSignals) {
      process.once('SIGINT', interrupted);
      process.once('SIGTERM', interrupted);
    }
    try {
      const repo = await Repository.open(backend, password, {
        ...repoOptions,
        skipIndex: true,
        keys: {
          only: key,
          memory: this.keyMemory(),
          onSkipped: opts.quietKeys ? undefined : warnLine,
          onTry: this.globals.verbose ? (id, file) => process.stderr.write(`sinki: trying key ${id} (${describeKdf(file.kdf)})\n`) : undefined,
        },
      });
      lock = await StoreLock.acquire(raw, exclusive, purpose, { role: opts.role });
      backend.attach(lock);
      // Under the lock: no remover is at work, and writers sharing the store are told apart (generation.ts).
      await this.checkRollback(repo, generations);
      if (!repoOptions.skipIndex) await repo.loadIndex(repoOptions.tolerateDamagedIndex ? () => undefined : undefined);
      return await fn(repo, lock);
    } finally {
      process.off('SIGINT', interrupted);
      process.off('SIGTERM', interrupted);
      await lock?.release();
      await backend.close();
    }
  }
}

export interface StoreOpenOptions {
  repo?: RepositoryOptions;
  password?: Buffer;
  ownSignals?: boolean;
  /** Key files that cannot be used go unmentioned while opening (check reports them itself). */
  quietKeys?: boolean;
  /** 'live-writer' for a read-write mount of the live tree: one such mount per store at a time. */
  role?: LockRecord['role'];
}
