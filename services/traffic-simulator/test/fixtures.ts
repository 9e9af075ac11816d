/** What the simulator's tests share: the default scenarios, runs generated once per process. */
import { fileURLToPath } from 'node:url';
import { DEFAULT_SCENARIOS_PATH, loadScenarioFile } from '../src/scenario-file.ts';
import type { SimEvent, SimMessage } from '../src/simulation.ts';
import { generateTraffic, type TrafficOptions } from '../src/traffic.ts';

export const DEMO_REGISTRATIONS = fileURLToPath(new URL('../scenarios/registrations.json', import.meta.url));
export const START = Date.UTC(2026, 11, 3, 15, 0, 0);

export function options(overrides: Partial<TrafficOptions> = {}): TrafficOptions {
  return {
    scenarios: loadScenarioFile(DEFAULT_SCENARIOS_PATH),
    seed: 1,
    ratePerSecond: 200,
    durationMs: 120_000,
    startTime: START,
    ...overrides,
  };
}

const runs = new Map<string, readonly SimEvent[]>();

/** Every event of a run (cached per seed, rate and duration over the default scenarios). */
export function run(seed: number, ratePerSecond: number, durationMs: number): readonly SimEvent[] {
  const key = `${seed}/${ratePerSecond}/${durationMs}`;
  let events = runs.get(key);
  if (!events) {
    events = [...generateTraffic(options({ seed, ratePerSecond, durationMs }))];
    runs.set(key, events);
  }
  return events;
}

/** The MessageEvents sent by senders of scenario `label`. */
export function messagesOf(events: readonly SimEvent[], label: string): SimMessage[] {
  return events.filter((e): e is SimMessage => e.type === 'message' && e.label === label);
}

export function groupBy<T, K>(items: readonly T[], key: (item: T) => K): Map<K, T[]> {
  const out = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}
