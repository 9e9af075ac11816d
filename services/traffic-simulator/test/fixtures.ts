/** What the simulator's tests share: the default scenarios, runs generated once per process. */
import { fileURLToPath } from 'node:url';
import { isOptOut } from '@spamgate/core';
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

/** Times (ms) of each sender's post-opt-out sends as the feature engine counts them. */
export function postOptOutSends(all: readonly SimEvent[], label: string): Map<string, number[]> {
  const optedOut = new Map<string, { at: number; confirmed: boolean }>();
  const violations = new Map<string, number[]>();
  for (const e of all) {
    if (e.type !== 'message') continue;
    const m = e.value;
    if (e.label !== label) {
      if (isOptOut(m.body) && !optedOut.has(`${m.recipient}>${m.sender}`))
        optedOut.set(`${m.recipient}>${m.sender}`, { at: m.eventTime, confirmed: false });
      continue;
    }
    const opt = optedOut.get(`${m.sender}>${m.recipient}`);
    if (!opt || opt.at > m.eventTime) continue;
    if (!opt.confirmed && m.eventTime - opt.at <= 300_000) opt.confirmed = true;
    else violations.set(m.sender, [...(violations.get(m.sender) ?? []), m.eventTime]);
  }
  return violations;
}
