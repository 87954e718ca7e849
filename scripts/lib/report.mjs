// report.mjs — the numbers and the markdown plumbing the bench scripts share: MiB and durations as
// printed, medians, the load average, store sizes, and replacing one "## " section of a doc.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sh, shq } from './measure.mjs';

export const MiB = 1024 * 1024;

/** Bytes as MiB with `digits` decimals. */
export function mib(bytes, digits = 1) {
  return (bytes / MiB).toFixed(digits);
}

/** Seconds as "42 s" or "3 min 7 s". */
export function fmtDuration(seconds) {
  const s = Math.round(seconds);
  return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
}

/** The median of the finite numbers in xs (the mean of the middle two for an even count); null for none. */
export function median(xs) {
  const v = xs.filter((x) => x !== null && x !== undefined && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
}

/** The 1, 5 and 15 minute load averages, "0.52 0.61 0.70". */
export function loadavg() {
  return os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
}

/** The short commit of the checkout at root, '?' outside git. */
export function gitHead(root) {
  return spawnSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim() || '?';
}

/** The machine a benchmark runs on, and the commit of the checkout at root it measures (uncommitted src/ changes noted). */
export function machineInfo(root) {
  const cpu = /^model name\s*:\s*(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? os.cpus()[0]?.model ?? '?';
  const head = gitHead(root);
  const dirty = spawnSync('git', ['-C', root, 'status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).stdout.trim();
  return {
    nproc: Number(sh('nproc').trim()),
    cpu,
    memGiB: (os.totalmem() / 1024 ** 3).toFixed(1),
    kernel: `Linux ${os.release()}`,
    head,
    git: `commit ${head}${dirty ? ' (src/ has uncommitted changes)' : ''}`,
  };
}

/** `du -sb` of a path: bytes on disk. */
export function duBytes(p) {
  return Number(sh(`du -sb ${shq(p)}`).split(/\s+/)[0]);
}

/**
 * Writes `md` (which starts with `## section`) into the markdown file: replaces the section of that
 * heading up to the next heading of level 1 or 2, or appends it; creates the file when missing.
 * Written to a temporary file and renamed, so a reader never sees half of it.
 */
export function writeSection(file, section, md) {
  const heading = `## ${section}`;
  let text = fs.existsSync(file)
    ? fs.readFileSync(file, 'utf8')
    : '# Benchmarks\n\nEach section is written by the script named in its heading; rerun that script to refresh it.\n';
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === heading);
  if (start < 0) {
    text = `${text.replace(/\n*$/, '')}\n\n${md.replace(/\n*$/, '')}\n`;
  } else {
    let end = lines.findIndex((l, i) => i > start && /^#{1,2} /.test(l));
    if (end < 0) end = lines.length;
    const before = lines.slice(0, start).join('\n').replace(/\n*$/, '');
    const after = lines.slice(end).join('\n').replace(/^\n*/, '');
    text = `${before ? `${before}\n\n` : ''}${md.replace(/\n*$/, '')}\n${after ? `\n${after}` : ''}`;
    if (!text.endsWith('\n')) text += '\n';
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${path.basename(process.argv[1] ?? 'bench')}-${process.pid}`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}
