import { resolve } from 'node:path';
import { SinkiError } from '../errors.js';
import type { Backend } from '../backend/backend.js';
import { LocalBackend } from '../backend/local.js';
import { Repository, type RepositoryOptions } from '../repo/repository.js';
import { StoreLock } from '../repo/lock.js';
import { readPassword, type PasswordSources } from './password.js';

/** Global flags and the environment, read once at the edge. */
export interface GlobalOptions {
  store?: string;
  passwordFile?: string;
  passwordCommand?: string;
  verbose?: boolean;
}

export interface Environment {
  SINKI_STORE?: string;
  SINKI_PASSWORD?: string;
}

export class CliContext {
  constructor(
    readonly globals: GlobalOptions,
    private readonly env: Environment,
  ) {}

  storeLocation(): string {
    const loc = this.globals.store ?? this.env.SINKI_STORE;
    if (!loc) throw new SinkiError('USAGE', 'no store given: use -s/--store PATH or set SINKI_STORE');
    return loc;
  }

  backend(): Backend {
    return new LocalBackend(resolve(this.storeLocation()));
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
  async withStore<T>(purpose: string, exclusive: boolean, fn: (repo: Repository) => Promise<T>, opts: StoreOpenOptions = {}): Promise<T> {
    const backend = this.backend();
    const password = opts.password ?? (await this.password());
    const repo = await Repository.open(backend, password, opts.repo ?? {});
    const lock = await StoreLock.acquire(backend, exclusive, purpose);
    const interrupted = (): void => {
      process.stderr.write('\nsinki: interrupted; what was committed stays in the store\n');
      void lock.release().finally(() => process.exit(130));
    };
    if (!opts.ownSignals) {
      process.once('SIGINT', interrupted);
      process.once('SIGTERM', interrupted);
    }
    try {
      return await fn(repo);
    } finally {
      process.off('SIGINT', interrupted);
      process.off('SIGTERM', interrupted);
      await lock.release();
    }
  }
}

export interface StoreOpenOptions {
  repo?: RepositoryOptions;
  password?: Buffer;
  ownSignals?: boolean;
}
