/**
 * CPU accounting from /proc (Linux; undefined elsewhere): the CPU time one process used, and the
 * machine's busy time. Throughput on a shared 2-core machine moves with whatever else runs; CPU time
 * per request of the function process moves much less, so both are reported.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';

/** /proc reports times in USER_HZ, which Linux fixes at 100 per second. */
const TICKS_PER_SECOND = 100;

/** User + system CPU seconds the process has used so far. */
export function processCpuSeconds(pid: number | string): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at field 3 (state).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** User + system CPU seconds one thread of a process (`tid` = `pid`: its main thread) has used so far. */
export function threadCpuSeconds(pid: number, tid: number): number | undefined {
  return processCpuSeconds(`${pid}/task/${tid}`);
}

/** Busy and total CPU seconds of the whole machine (all cores) so far. */
export function machineCpuSeconds(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    const total = v.reduce((s, x) => s + x, 0);
    return { busy: (total - idle) / TICKS_PER_SECOND, total: total / TICKS_PER_SECOND };
  } catch {
    return undefined;
  }
}

export interface CpuWindow {
  /** Average cores the function process used. */
  functionCores: number | undefined;
  /** Average cores busy on the whole machine (the load generator, the emulator, anything else). */
  machineBusyCores: number | undefined;
  /** 1-minute load average when the window closed (others working on the machine show here). */
  loadAverage1m: number;
  functionCpuSeconds: number | undefined;
}

/** Starts measuring; the returned function closes the window. */
export function cpuWindow(pid: number): () => CpuWindow {
  const started = process.hrtime.bigint();
  const fn0 = processCpuSeconds(pid);
  const m0 = machineCpuSeconds();
  return () => {
    const wall = Number(process.hrtime.bigint() - started) / 1e9;
    const fn1 = processCpuSeconds(pid);
    const m1 = machineCpuSeconds();
    const fnCpu = fn0 !== undefined && fn1 !== undefined ? fn1 - fn0 : undefined;
    return {
      functionCores: fnCpu === undefined ? undefined : Math.round((fnCpu / wall) * 100) / 100,
      machineBusyCores:
        m0 !== undefined && m1 !== undefined
          ? Math.round(((m1.busy - m0.busy) / wall) * 100) / 100
          : undefined,
      loadAverage1m: Math.round((loadavg()[0] ?? 0) * 100) / 100,
      functionCpuSeconds: fnCpu,
    };
  };
}
