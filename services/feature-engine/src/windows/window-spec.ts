/**
 * Sliding windows over event time, computed from slices (panes): each window of length W is
 * cut into slices of width S (W a multiple of S); an event updates one slice per window, and a
 * window's value combines its W/S slices. Definition, for a window evaluated at event time t:
 * it covers the W/S slices whose start lies in (floor(t/S)*S - W, floor(t/S)*S], i.e. the slice
 * holding t and the W/S - 1 before it. It therefore looks back between W - S and W before t.
 */
export interface WindowSpec {
  /** Name used in features, reasons and docs: 1m, 10m, 1h, 24h. */
  readonly name: string;
  /** Window length in milliseconds. */
  readonly lengthMs: number;
  /** Slice width in milliseconds; divides lengthMs and is a multiple of 10 s (peak-rate buckets). */
  readonly sliceMs: number;
}

export const DEFAULT_WINDOWS: readonly WindowSpec[] = Object.freeze([
  { name: '1m', lengthMs: 60_000, sliceMs: 10_000 },
  { name: '10m', lengthMs: 600_000, sliceMs: 60_000 },
  { name: '1h', lengthMs: 3_600_000, sliceMs: 300_000 },
  { name: '24h', lengthMs: 86_400_000, sliceMs: 3_600_000 },
]);

/** Problems with a window list, one sentence each; empty when it is usable. */
export function validateWindows(windows: readonly WindowSpec[]): string[] {
  const problems: string[] = [];
  const names = new Set<string>();
  for (const w of windows) {
    if (names.has(w.name)) problems.push(`window ${w.name} is declared twice`);
    names.add(w.name);
    if (!Number.isInteger(w.sliceMs) || w.sliceMs <= 0 || w.sliceMs % 10_000 !== 0) {
      problems.push(`window ${w.name}: slice width ${w.sliceMs} ms is not a positive multiple of 10 s`);
    }
    if (!Number.isInteger(w.lengthMs) || w.lengthMs < w.sliceMs || w.lengthMs % w.sliceMs !== 0) {
      problems.push(
        `window ${w.name}: length ${w.lengthMs} ms is not a multiple of its slice width ${w.sliceMs} ms`,
      );
    }
    if (w.lengthMs / w.sliceMs > 120) problems.push(`window ${w.name}: more than 120 slices`);
  }
  for (let i = 1; i < windows.length; i++) {
    if (windows[i]!.lengthMs <= windows[i - 1]!.lengthMs)
      problems.push('windows must be listed shortest first');
  }
  return problems;
}

/** Start of the slice of width sliceMs that holds time t. */
export function sliceStart(t: number, sliceMs: number): number {
  return Math.floor(t / sliceMs) * sliceMs;
}
