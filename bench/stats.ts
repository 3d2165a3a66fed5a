// Small statistics and process readings the benchmarks share.
import { readFileSync, writeFileSync } from 'node:fs';

/** The median (the mean of the two middle values for an even count). */
export const median = (xs: number[]): number => {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** The nearest-rank `p`th percentile (0..100) of `xs`: p50 of 4 values is the 2nd smallest. */
export const percentile = (xs: number[], p: number): number => {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};

/** Memory of a Linux process, MiB, from /proc/<pid>/status (all its threads together). */
export interface ProcMemory {
  /** Resident now (VmRSS). */
  rssMiB: number;
  /** The high-water mark of the resident set (VmHWM), since start or the last resetPeak. */
  peakMiB: number;
}

/** Reads {@link ProcMemory} of `pid` (default this process); NaN where /proc has none. */
export function procMemory(pid: number | 'self' = 'self'): ProcMemory {
  let text = '';
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    // not Linux, or the process is gone
  }
  const kib = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(text)?.[1] ?? NaN);
  return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024 };
}

/**
 * Resets the high-water mark (VmHWM) of `pid` to its current resident size (Linux >= 4.0:
 * `echo 5 > /proc/<pid>/clear_refs`), so a later {@link procMemory} peak covers only what ran
 * in between. Returns false where that is not allowed.
 */
export function resetPeak(pid: number | 'self' = 'self'): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}
