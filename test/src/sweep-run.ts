/**
 * One point of the decision sweep with one seed, through the pipeline in process, under the
 * default policy, and its figures as text: shared by the sweep test and `npm run sweep`.
 */
import { loadPolicy, type Policy } from '@spamgate/decision-engine';
import { loadRegistrations, type Registrations } from '@spamgate/schemas';
import {
  loadScenarioFile,
  formatPercent as pct,
  type Sweep,
  type SweepPoint,
} from '@spamgate/traffic-simulator';
import { type InProcessRun, runInProcess } from './in-process-pipeline.ts';
import { REPO_ROOT } from './versions.ts';

/**
 * The spam scenarios whose 30 % target holds at every point of the sweep (docs/sweep.md): the
 * sweep test asserts it for them everywhere, so that what holds stays held.
 */
export const SHAPES_HELD_EVERYWHERE: readonly string[] = [
  'blast',
  'number-walker',
  'sim-box',
  'template-rotator',
];

/** From the event that led to a decision to the decision in force at the firewall. */
export const SWEEP_LATENCY_MS = 3_000;
/** Event time of every run's start (the figures do not depend on it: one clock). */
export const SWEEP_START = Date.UTC(2026, 11, 1, 14, 0, 0);

let defaults: { policy: Policy; registrations: Registrations } | undefined;

function policyAndRegistrations() {
  defaults ??= {
    policy: loadPolicy(`${REPO_ROOT}infra/config/policy.json`),
    registrations: loadRegistrations(`${REPO_ROOT}services/traffic-simulator/scenarios/registrations.json`),
  };
  return defaults;
}

export function runSweepPoint(sweep: Sweep, point: SweepPoint, seed: number): InProcessRun {
  const { policy, registrations } = policyAndRegistrations();
  return runInProcess({
    scenarios: loadScenarioFile(point.scenariosPath),
    seed,
    ratePerSecond: sweep.ratePerSecond,
    durationMs: sweep.durationMs,
    startTime: SWEEP_START,
    policy,
    registrations,
    hashKey: `sweep-${point.id}-${seed}-secret`,
    latencyMs: SWEEP_LATENCY_MS,
  });
}

/** Every figure of a run, scenario by scenario. */
export function runSummary(run: InProcessRun): string {
  const lines = [
    `spam delivered ${pct(run.figures.spamDeliveredShare)}, legitimate stopped ${pct(run.figures.legitimateStoppedShare)}, ${run.messages} messages, ${run.decisions.length} decisions, ${run.contentDecisions.length} content decisions`,
  ];
  for (const [id, g] of run.figures.groups)
    lines.push(
      `  ${id.padEnd(28)} ${g.spam ? 'spam ' : 'legit'} ${String(g.messages).padStart(6)} delivered ${pct(g.messages === 0 ? null : g.delivered / g.messages).padStart(8)} (content ${g.stopped.CONTENT}, block ${g.stopped.BLOCK}, throttle ${g.stopped.THROTTLE})`,
    );
  return lines.join('\n');
}
