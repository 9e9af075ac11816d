/** What every scenario kind provides: its parameters, its ground truth, and how it generates traffic. */
import type { Expectation } from '../labels.ts';
import type { NumberPool } from '../numbers.ts';
import type { ParamSpec, ParamsOf } from '../params.ts';
import type { Random } from '../random.ts';
import type { Simulation } from '../simulation.ts';
import type { Personaliser } from '../text.ts';

export interface GroundTruth {
  readonly title: string;
  readonly spam: boolean;
  readonly expect: Expectation;
}

/** What a scenario is given to build itself. */
export interface ScenarioSetup {
  /** Its id: the scenario id in the labels and the label of every event its senders send. */
  readonly id: string;
  /**
   * MessageEvents per second the scenario should cause, its answers included: its share of the
   * run's rate, or 0 for a scenario its parameters size (see `ScenarioKind.sizedByTeam`).
   */
  readonly ratePerSecond: number;
  readonly durationMs: number;
  readonly sim: Simulation;
  /** Its own random stream. */
  readonly rng: Random;
  readonly text: Personaliser;
  /** Where its numbers come from; allocate while building, in a fixed order. */
  readonly pool: NumberPool;
}

export interface Scenario {
  /** Sender numbers it plans to use over the run (an estimate for plans and docs). */
  readonly plannedSenders: number;
  /**
   * MessageEvents per second it expects to cause, its answers included, when its parameters
   * size it (its team and pace); absent, it causes the rate it was given.
   */
  readonly ratePerSecond?: number;
  /** Schedules its first actions. */
  start(): void;
}

export interface ScenarioKind<S extends ParamSpec = ParamSpec> {
  /** The `kind` of the scenario file. */
  readonly kind: string;
  /** One line: what it simulates. */
  readonly summary: string;
  readonly params: S;
  /**
   * True when these parameters size the scenario by its team and per-number pace rather than by
   * its share of the run's rate: it then takes no part in sharing the rate, and its share only
   * has to be above 0 for it to run. Absent: always sized by its share.
   */
  sizedByTeam?(params: ParamsOf<S>): boolean;
  /** Ground truth and expectation of a scenario of this kind with these parameters. */
  truth(params: ParamsOf<S>): GroundTruth;
  /** Sizes the scenario for its rate and allocates its numbers; start() schedules its traffic. */
  build(params: ParamsOf<S>, setup: ScenarioSetup): Scenario;
}

/** Declares a kind with its parameter types inferred from the spec. */
export function defineKind<const S extends ParamSpec>(kind: ScenarioKind<S>): ScenarioKind<S> {
  return kind;
}

export const LEGITIMATE: Expectation = Object.freeze({
  neverBlock: true,
  throttleAcceptable: false,
  actionRequired: 'NONE',
  blockWithinMs: null,
});

/** Spam that must be THROTTLEd or BLOCKed, with no deadline for its first BLOCK. */
export const SPAM_TO_STOP: Expectation = Object.freeze({
  neverBlock: false,
  throttleAcceptable: false,
  actionRequired: 'THROTTLE_OR_BLOCK',
  blockWithinMs: null,
});

/**
 * Poisson arrivals at `ratePerSecond` from `from` until the run ends, calling `arrive(t)` at each.
 * Arrivals before the simulation's current time (a warm-up before the run starts, so that
 * conversations are already under way at its first second) are called at once, in order.
 */
export function poisson(
  sim: Simulation,
  rng: Random,
  ratePerSecond: number,
  from: number,
  arrive: (t: number) => void,
): void {
  if (!(ratePerSecond > 0)) return;
  const meanMs = 1000 / ratePerSecond;
  let t = from + rng.exponential(meanMs);
  for (; t < sim.now; t += rng.exponential(meanMs)) arrive(t);
  const next = (at: number) =>
    sim.at(at, () => {
      arrive(sim.now);
      next(sim.now + rng.exponential(meanMs));
    });
  next(t);
}
