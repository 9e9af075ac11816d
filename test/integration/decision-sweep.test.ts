// The decision sweep (issue 17): every point of the simulator's sweep (spam shapes at paces from
// one message a second to one per 5 minutes per number, with few or many complaints, beside the
// legitimate shapes that come closest to them), with each seed, through the pipeline in process
// (test/src/in-process-pipeline.ts) under the default policy, judged by what the firewall let
// through: at most 10 % of spam delivered and 30 % of any spam scenario, at most 0.05 % of
// legitimate messages stopped, no registered legitimate sender blocked, and every content BLOCK
// in force within 30 s of its evidence. No servers: the pure code the services run.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadPolicy } from '@spamgate/decision-engine';
import { loadRegistrations } from '@spamgate/feature-engine';
import { loadScenarioFile, loadSweep, SWEEP_PATH } from '@spamgate/traffic-simulator';
import { type InProcessRun, runInProcess } from '../src/in-process-pipeline.ts';
import { REPO_ROOT } from '../src/index.ts';

const POLICY = loadPolicy(`${REPO_ROOT}infra/config/policy.json`);
const REGISTRATIONS = loadRegistrations(
  `${REPO_ROOT}services/traffic-simulator/scenarios/registrations.json`,
);
const SWEEP = loadSweep(SWEEP_PATH);
/** From the event that led to a decision to the decision in force at the firewall (the demo measures it). */
const LATENCY_MS = 3_000;
const START = Date.UTC(2026, 11, 1, 14, 0, 0);

const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(2)} %`);

/** Every figure of a run, so a failure says what the firewall let through, scenario by scenario. */
function summary(run: InProcessRun): string {
  const lines = [
    `spam delivered ${pct(run.figures.spamDeliveredShare)}, legitimate stopped ${pct(run.figures.legitimateStoppedShare)}, ${run.messages} messages, ${run.decisions.length} decisions, ${run.contentDecisions.length} content decisions`,
  ];
  for (const [id, g] of run.figures.groups)
    lines.push(
      `  ${id.padEnd(28)} ${g.spam ? 'spam ' : 'legit'} ${String(g.messages).padStart(6)} delivered ${pct(g.messages === 0 ? null : g.delivered / g.messages).padStart(8)} (content ${g.stopped.CONTENT}, block ${g.stopped.BLOCK}, throttle ${g.stopped.THROTTLE})`,
    );
  return lines.join('\n');
}

for (const point of SWEEP.points)
  describe(`sweep point ${point.id}: ${point.title}`, () => {
    const scenarios = loadScenarioFile(point.scenariosPath);
    for (const seed of SWEEP.seeds)
      it(`seed ${seed}: the firewall delivers little spam and stops no legitimate traffic`, () => {
        const run = runInProcess({
          scenarios,
          seed,
          ratePerSecond: SWEEP.ratePerSecond,
          durationMs: SWEEP.durationMs,
          startTime: START,
          policy: POLICY,
          registrations: REGISTRATIONS,
          hashKey: `sweep-${point.id}-${seed}-secret`,
          latencyMs: LATENCY_MS,
        });
        const report = summary(run);
        const f = run.figures;
        assert.ok(f.spam.messages > 0 && f.legitimate.messages > 0, report);
        assert.ok(f.spamDeliveredShare! <= 0.1, `spam delivered above 10 %:\n${report}`);
        for (const [id, g] of f.groups)
          if (g.spam)
            assert.ok(g.delivered <= 0.3 * g.messages, `${id}: more than 30 % delivered:\n${report}`);
        assert.ok(
          f.legitimateStoppedShare! <= 0.0005,
          `legitimate messages stopped above 0.05 %:\n${report}`,
        );
        const legit = new Set(run.scenarios.filter((s) => !s.spam).map((s) => s.id));
        const blockedRegistered = run.decisions
          .map((d) => d.decision)
          .filter(
            (d) =>
              d.action === 'BLOCK' &&
              run.registered.has(d.sender) &&
              legit.has(run.scenarioOf.get(d.sender) ?? ''),
          );
        assert.deepEqual(
          blockedRegistered.map((d) => d.sender),
          [],
          'no registered legitimate sender is blocked',
        );
        for (const { inForceAt, decision } of run.contentDecisions)
          if (decision.action === 'BLOCK' && decision.overrideId === null)
            assert.ok(
              inForceAt - decision.basedOnEventTime <= 30_000,
              `content BLOCK of ${decision.clusterId} in force ${inForceAt - decision.basedOnEventTime} ms after its evidence`,
            );
      });
  });
