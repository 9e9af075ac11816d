/**
 * CPU and memory of a child process, read from /proc (Linux) while it runs: the figures of a
 * process are gone once it exits, so the sampler keeps the last reading. A contender's CPU is
 * the difference between two readings (`at`), taken when its measured interval starts and ends.
 */
import { procStats } from '../src/bench-support.ts';

export interface ProcReading {
  readonly cpuSeconds: number;
  readonly peakRssBytes: number;
}

export interface ProcSampler {
  /** The latest reading (taken now if the process still runs). */
  now(): ProcReading | undefined;
  stop(): void;
}

/** Samples `pid` every intervalMs until stopped; `now()` reads it at once when it is alive. */
export function sampleProcess(pid: number, intervalMs = 100): ProcSampler {
  let last: ProcReading | undefined;
  // An exiting process (a zombie) still has its CPU times but no memory figures: keep the last
  // peak that was read.
  const read = () => {
    const r = procStats(pid);
    if (!r) return last;
    const peak = Number.isFinite(r.peakRssBytes) ? r.peakRssBytes : (last?.peakRssBytes ?? Number.NaN);
    last = { cpuSeconds: r.cpuSeconds, peakRssBytes: peak };
    return last;
  };
  read();
  const timer = setInterval(read, intervalMs);
  timer.unref();
  return {
    now: read,
    stop: () => clearInterval(timer),
  };
}

/** Sum of CPU and the largest peak RSS over several processes' readings. */
export function combine(readings: readonly (ProcReading | undefined)[]): ProcReading {
  let cpuSeconds = 0;
  let peakRssBytes = 0;
  for (const r of readings) {
    cpuSeconds += r?.cpuSeconds ?? Number.NaN;
    peakRssBytes = Math.max(peakRssBytes, r?.peakRssBytes ?? Number.NaN);
  }
  return { cpuSeconds, peakRssBytes };
}
