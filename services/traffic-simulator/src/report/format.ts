/** How both renderers (and check details) write numbers, durations and times. */

/** "850 ms", "12.3 s", "4 min 05 s", "2 h 03 min"; negative with a minus sign. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return 'n/a';
  if (ms < 0) return `-${formatDuration(-ms)}`;
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(Math.floor(ms / 100) / 10).toFixed(1)} s`;
  if (ms < 3_600_000) {
    const s = Math.floor(ms / 1_000);
    return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  }
  const m = Math.floor(ms / 60_000);
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/**
 * A ratio with 3 decimals, rounded down so that it never reads as meeting a threshold it misses
 * (98/99 is 0.989, not 0.990); "n/a" for null.
 */
export function formatRatio(x: number | null): string {
  return x === null ? 'n/a' : (Math.floor(x * 1000 + 1e-9) / 1000).toFixed(3);
}

/** 1234567 -> "1,234,567". */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** "2026-11-29 10:00:05Z" (UTC). */
export function formatTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/** "10:00" or "10:00:05" (UTC), for chart axes and markers. */
export function formatClock(ms: number, seconds = false): string {
  return new Date(ms).toISOString().slice(11, seconds ? 19 : 16);
}

/**
 * A share as a percentage, rounded up so that it never reads as under a limit it exceeds: "12.4 %"
 * from 1 % up, "0.013 %" below; "n/a" for null.
 */
export function formatPercent(x: number | null): string {
  if (x === null || !Number.isFinite(x)) return 'n/a';
  const p = x * 100;
  if (p === 0) return '0 %';
  // Just under 100 %: two decimals, so that what was not delivered still shows.
  if (p >= 99 && p < 100) return `${Math.min(99.99, Math.ceil(p * 100 - 1e-9) / 100).toFixed(2)} %`;
  if (p >= 1) return `${(Math.ceil(p * 10 - 1e-9) / 10).toFixed(1)} %`;
  return `${(Math.ceil(p * 1000 - 1e-9) / 1000).toFixed(3)} %`;
}
