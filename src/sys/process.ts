import { promises as fs } from 'node:fs';

/** Whether a process with this pid runs on this host (a zombie counts; procStat tells it apart, and a reused pid). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** State and start time (clock ticks after boot) of a process from /proc (null where there is no /proc). */
export async function procStat(pid: number): Promise<{ state: string; started: string } | null> {
  let text: string;
  try {
    text = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name in parentheses may hold spaces: fields are counted from after its closing one (field 3, state).
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return fields[19] ? { state: fields[0]!, started: fields[19] } : null;
}
