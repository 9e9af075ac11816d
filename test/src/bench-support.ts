/**
 * What every benchmark needs around a service it runs as a child process: /proc figures, a
 * Prometheus metric's value, log line times, waiting, quantiles and number formatting. Nothing
 * here reaches into a service's code: a benchmark must keep working whatever changes inside it.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { LogLine } from './process.ts';

let ticks: number | undefined;
function clockTicks(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** CPU seconds (user + system) and peak resident set of a live process, from /proc (Linux). */
export function procStats(pid: number): { cpuSeconds: number; peakRssBytes: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "pid (comm) ": state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / clockTicks();
    const hwm = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return { cpuSeconds, peakRssBytes: hwm ? Number(hwm[1]) * 1024 : Number.NaN };
  } catch {
    return undefined;
  }
}

/** Sum over every label set of a Prometheus metric in exposition text; undefined if absent. */
export function metricValue(text: string, name: string): number | undefined {
  let total: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const next = line[name.length];
    if (next !== ' ' && next !== '{') continue;
    total = (total ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

/** Time of a pino log line (ISO `time`), or now if it has none. */
export function logTime(line: LogLine): number {
  const t = typeof line.time === 'string' ? Date.parse(line.time) : Number.NaN;
  return Number.isNaN(t) ? Date.now() : t;
}

/** What a log line says in a few words: its message, and an error's message if it carries one. */
export function gist(line: LogLine): string {
  const err = line.err as { message?: unknown } | undefined;
  const detail =
    typeof err?.message === 'string' ? err.message : typeof line.error === 'string' ? line.error : '';
  return `${String(line.msg ?? '')}${detail ? `: ${detail}` : ''}`.slice(0, 160);
}

/** q-quantile (0..1) of ascending numbers, nearest rank. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Resolves after ms. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` every intervalMs until it returns a value, or throws after timeoutMs naming `what`. */
export async function until<T>(
  what: string | (() => string),
  timeoutMs: number,
  check: () => Promise<T | undefined> | T | undefined,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs / 1000} s waiting for ${typeof what === 'string' ? what : what()}`,
      );
    await sleep(intervalMs);
  }
}

export const fmt = {
  int: (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en') : 'n/a'),
  fixed: (n: number, digits = 1) =>
    Number.isFinite(n)
      ? n.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits })
      : 'n/a',
  mib: (bytes: number) =>
    Number.isFinite(bytes) ? `${Math.round(bytes / 1_048_576).toLocaleString('en')} MiB` : 'n/a',
};
