/**
 * The generator: a scenario file, a seed, a rate, a duration and a start time in; timed
 * MessageEvents and FeedbackEvents out, in event-time order, one at a time. Pure: the same
 * inputs give the same sequence, byte for byte.
 */
import { SpamgateError } from '@spamgate/core';
import type { Expectation } from './labels.ts';
import { createNumberPool } from './numbers.ts';
import { createRandom, hashString } from './random.ts';
import type { ScenarioEntry, ScenarioFile } from './scenario-file.ts';
import type { Scenario } from './scenarios/index.ts';
import { createSimulation, type SimEvent, type Simulation } from './simulation.ts';
import { createPersonaliser } from './text.ts';

export interface TrafficOptions {
  readonly scenarios: ScenarioFile;
  /** Integer 0 to 2^32 - 1. */
  readonly seed: number;
  /**
   * MessageEvents per second of the scenarios sized by their share, the answers they draw
   * included; scenarios sized by their team (and pace) add their own rate to it.
   */
  readonly ratePerSecond: number;
  /** Length of the run, ms. */
  readonly durationMs: number;
  /** Event time of the run's start, ms since the epoch. */
  readonly startTime: number;
}

/** A scenario as the run sizes it. */
export interface PlannedScenario {
  readonly id: string;
  readonly kind: string;
  readonly title: string;
  readonly spam: boolean;
  readonly expect: Expectation;
  /**
   * Its share of the run's rate, normalised over the scenarios sized by their share (those
   * shares add up to 1); 0 for a scenario sized by its team.
   */
  readonly share: number;
  /** True when its parameters size it by its team and per-number pace, not by its share. */
  readonly sizedByTeam: boolean;
  /** MessageEvents per second it causes, its answers included (its team's rate when sized by it). */
  readonly ratePerSecond: number;
  /** Sender numbers it plans to use (an estimate). */
  readonly plannedSenders: number;
}

/** Options the simulator cannot run with; `problems` names each. */
export class SimulatorOptionsError extends SpamgateError {
  override name = 'SimulatorOptionsError';
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid simulator options:\n${problems.map((p) => `  - ${p}`).join('\n')}`, {
      code: 'SIMULATOR_OPTIONS_INVALID',
    });
    this.problems = Object.freeze([...problems]);
  }
}

export const MAX_RATE_PER_SECOND = 100_000;
export const MAX_DURATION_MS = 7 * 86_400_000;

/** Every problem with the numbers of `options`, one sentence each. */
export function trafficOptionProblems(options: Omit<TrafficOptions, 'scenarios'>): string[] {
  const problems: string[] = [];
  const { seed, ratePerSecond, durationMs, startTime } = options;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    problems.push(`seed: got ${seed}, expected an integer from 0 to 4294967295`);
  if (!Number.isFinite(ratePerSecond) || ratePerSecond <= 0 || ratePerSecond > MAX_RATE_PER_SECOND)
    problems.push(
      `rate: got ${ratePerSecond}, expected messages per second above 0 and at most ${MAX_RATE_PER_SECOND}`,
    );
  if (!Number.isInteger(durationMs) || durationMs < 1000 || durationMs > MAX_DURATION_MS)
    problems.push(`duration: got ${durationMs} ms, expected 1 s to 7 days`);
  if (!Number.isSafeInteger(startTime) || startTime < 0)
    problems.push(`start time: got ${startTime}, expected ms since the epoch`);
  return problems;
}

/** Tag in every message and feedback id of a run: runs with other seeds or start times never share ids. */
export function runTag(seed: number, startTime: number): string {
  return `sim${hashString(`${seed}/${startTime}`).toString(36)}`;
}

function build(
  options: TrafficOptions,
  sim: Simulation,
): { planned: PlannedScenario[]; instances: Scenario[] } {
  const problems = trafficOptionProblems(options);
  if (problems.length > 0) throw new SimulatorOptionsError(problems);
  const { scenarios, seed, ratePerSecond, durationMs, startTime } = options;
  const sizedByTeam = (e: ScenarioEntry) => e.kind.sizedByTeam?.(e.params) ?? false;
  // The run's rate is shared by the scenarios sized by their share; a team brings its own.
  const totalShare = scenarios.scenarios.reduce((s, e) => s + (sizedByTeam(e) ? 0 : e.share), 0);
  const pool = createNumberPool(seed);
  const planned: PlannedScenario[] = [];
  const instances: Scenario[] = [];
  for (const entry of scenarios.scenarios) {
    const byTeam = sizedByTeam(entry);
    const share = byTeam || totalShare === 0 ? 0 : entry.share / totalShare;
    const rate = ratePerSecond * share;
    const rng = createRandom(seed, `scenario:${entry.id}`);
    let instance: Scenario = { plannedSenders: 0, start: () => {} };
    if (byTeam ? entry.share > 0 : rate > 0) {
      instance = entry.kind.build(entry.params, {
        id: entry.id,
        ratePerSecond: rate,
        durationMs,
        sim,
        rng,
        text: createPersonaliser(rng.fork('text'), startTime),
        pool,
      });
    }
    instances.push(instance);
    planned.push(
      Object.freeze({
        id: entry.id,
        kind: entry.kind.kind,
        title: entry.truth.title,
        spam: entry.truth.spam,
        expect: entry.truth.expect,
        share,
        sizedByTeam: byTeam,
        ratePerSecond: instance.ratePerSecond ?? rate,
        plannedSenders: instance.plannedSenders,
      }),
    );
  }
  return { planned, instances };
}

function simulationOf(options: TrafficOptions) {
  return createSimulation({
    start: options.startTime,
    end: options.startTime + options.durationMs,
    runTag: runTag(options.seed, options.startTime),
  });
}

/** How the run sizes each scenario, without generating anything. */
export function planTraffic(options: TrafficOptions): readonly PlannedScenario[] {
  return Object.freeze(build(options, simulationOf(options).sim).planned);
}

/** The run's events in event-time order; each call starts the run afresh. */
export function* generateTraffic(options: TrafficOptions): Generator<SimEvent> {
  const simulation = simulationOf(options);
  const { instances } = build(options, simulation.sim);
  for (const s of instances) s.start();
  yield* simulation.run();
}
