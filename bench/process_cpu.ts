import { readFileSync } from 'node:fs';

/**
 * User + system CPU seconds a process has used so far, from /proc/PID/stat (utime, stime in
 * clock ticks of 1/100 s); 0 when there is no such process. The fields are read after the
 * last `)`: the command name before it may itself hold spaces and parentheses.
 */
export function cpuSeconds(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}
