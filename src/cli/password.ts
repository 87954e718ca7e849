import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { promisify } from 'node:util';
import { SinkiError } from '../errors.js';
import { childEnv } from '../sys/child-env.js';

const execFileAsync = promisify(execFile);

export interface PasswordSources {
  /** SINKI_PASSWORD, read by the CLI edge. */
  envPassword?: string;
  passwordFile?: string;
  passwordCommand?: string;
}

/** The password from the first source given; a TTY prompt (asked twice when `confirm`) as the last resort. */
export async function readPassword(src: PasswordSources, prompt: string, confirm = false): Promise<Buffer> {
  let pw: string | undefined;
  if (src.passwordFile) {
    try {
      pw = (await fs.readFile(src.passwordFile, 'utf8')).replace(/\r?\n$/, '');
    } catch (err) {
      throw new SinkiError('USAGE', `cannot read --password-file ${src.passwordFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  } else if (src.passwordCommand) {
    try {
      const { stdout } = await execFileAsync('/bin/sh', ['-c', src.passwordCommand], { maxBuffer: 1024 * 1024, env: childEnv() });
      pw = stdout.replace(/\r?\n$/, '');
    } catch (err) {
      throw new SinkiError('USAGE', `--password-command failed: ${(err as Error).message.split('\n')[0]}`);
    }
  } else if (src.envPassword !== undefined) {
    pw = src.envPassword;
  } else if (process.stdin.isTTY) {
    pw = await promptHidden(prompt);
    if (confirm && (await promptHidden('enter the password again: ')) !== pw) throw new SinkiError('USAGE', 'the passwords do not match');
  } else {
    throw new SinkiError('USAGE', 'no password given: set SINKI_PASSWORD, or use --password-file or --password-command (no terminal to ask on)');
  }
  if (pw.length === 0) throw new SinkiError('USAGE', 'the password is empty');
  return Buffer.from(pw, 'utf8');
}

function promptHidden(prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(prompt);
    stdin.setRawMode(true);
    stdin.resume();
    let input = '';
    const done = (err?: Error): void => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(input);
    };
    const onData = (data: Buffer): void => {
      for (const ch of data.toString('utf8')) {
        if (ch === '\r' || ch === '\n') {
          done();
          return;
        }
        if (ch === '\u0003') {
          done(new SinkiError('USAGE', 'interrupted'));
          return;
        }
        if (ch === '\u007f' || ch === '\b') input = input.slice(0, -1);
        else input += ch;
      }
    };
    stdin.on('data', onData);
  });
}
