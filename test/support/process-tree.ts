import { readdirSync, readFileSync } from 'node:fs';

/** A running process as /proc shows it (Linux). */
export interface ProcessInfo {
  ppid: number;
  /** User + system CPU seconds so far. */
  cpuSeconds: number;
  /** Its command line, argument by argument. */
  cmd: string[];
}

const TICKS_PER_SECOND = 100; // USER_HZ

/** Every process now, by pid. */
export function readProcesses(): Map<number, ProcessInfo> {
  const out = new Map<number, ProcessInfo>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(name), {
        ppid: Number(fields[1]),
        cpuSeconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND,
        cmd: readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').filter(Boolean),
      });
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

/** Pids of `root` and every process under it now. */
export function processTree(root: number, processes = readProcesses()): number[] {
  const tree = [root];
  for (let i = 0; i < tree.length; i++) for (const [pid, p] of processes) if (p.ppid === tree[i]) tree.push(pid);
  return tree;
}

/** Whether a process is still running (a zombie counts as gone). */
export function alive(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].startsWith('Z');
  } catch {
    return false;
  }
}
