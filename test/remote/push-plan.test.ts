/* The pure parts of a push: phase order, filter rules, remote paths, rclone's messages. */
import { describe, expect, it } from 'vitest';
import { daemonFlags, phaseOfPath, phaseRules, PUSH_PHASES } from '../../src/remote/push.js';
import { rcloneErrorMessage, remoteJoin } from '../../src/rclone/rclone.js';

describe('push phases', () => {
  it('send what is referred to before what refers to it; only the packs go straight to their names', () => {
    expect(PUSH_PHASES.map((p) => [p.name, p.staged])).toEqual([
      ['packs', false],
      ['index', true],
      ['snapshots', true],
      ['refs', true],
      ['gen', true],
    ]);
    const all = PUSH_PHASES.flatMap((p) => p.include);
    for (const path of ['/sinki.json', '/keys/**', '/packs/**', '/index/**', '/snapshots/**', '/refs/**', '/SHA256SUMS', '/gen/**'])
      expect(all).toContain(path);
    expect(all.some((p) => p.startsWith('/locks'))).toBe(false);
  });

  it('exclude temp files before any include matches them, and everything else after', () => {
    expect(phaseRules({ include: ['/packs/**'] })).toEqual(['- .tmp-*', '+ /packs/**', '- **']);
  });

  it('place every staged file in the phase that sends it', () => {
    const name = (path: string): string | undefined => phaseOfPath(path)?.name;
    expect(name(`index/${'a'.repeat(64)}`)).toBe('index');
    expect(name(`snapshots/${'b'.repeat(64)}`)).toBe('snapshots');
    expect(name('refs/head')).toBe('refs');
    expect(name('SHA256SUMS')).toBe('refs');
    expect(name('gen/000000000007-0123456789abcdef')).toBe('gen');
    expect(name(`packs/ab/${'c'.repeat(64)}`)).toBe('packs');
    expect(name('sinki.json')).toBe('packs');
    expect(name('indexes/x')).toBeUndefined();
    expect(name('SHA256SUMS.old')).toBeUndefined();
  });

  it('give the daemon the limits that hold for the whole push', () => {
    expect(daemonFlags({})).toEqual([]);
    expect(daemonFlags({ bwlimit: '08:00,512k 19:00,10M', transfers: 8, dryRun: true })).toEqual([
      '--bwlimit',
      '08:00,512k 19:00,10M',
      '--transfers',
      '8',
      '--dry-run',
    ]);
  });
});

describe('remoteJoin', () => {
  it('joins under a remote root, a path, or a local path', () => {
    expect(remoteJoin('gdrive:', 'index')).toBe('gdrive:index');
    expect(remoteJoin('s3:bucket/sinki', 'index')).toBe('s3:bucket/sinki/index');
    expect(remoteJoin('sftp:nas/', 'index')).toBe('sftp:nas/index');
    expect(remoteJoin('/mnt/usb/sinki', '.tmp-push-1/refs')).toBe('/mnt/usb/sinki/.tmp-push-1/refs');
  });
});

describe('rcloneErrorMessage', () => {
  it("keeps rclone's own words, without the log timestamp", () => {
    const stderr = '2026/11/25 13:21:50 Failed to create file system for "nope:st": didn\'t find section in config file\n';
    expect(rcloneErrorMessage(stderr)).toBe('file system for "nope:st": didn\'t find section in config file');
  });

  it('takes the last error of a JSON log', () => {
    const stderr = [
      '{"level":"notice","msg":"stats"}',
      '{"level":"error","msg":"hash unsupported: hash type not supported","object":"index/ab"}',
      '{"level":"error","msg":"Failed to hashsum with 2 errors: last error was: directory not found"}',
    ].join('\n');
    expect(rcloneErrorMessage(stderr)).toBe('directory not found');
  });
});
