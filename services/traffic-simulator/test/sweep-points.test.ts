/**
 * The project's sweep (scenarios/sweep/): every point loads, plans and runs as its manifest says,
 * on one legitimate background, with each spam shape at its point's per-number pace and outcome
 * level, and every registered sender under its cap.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { capOf, loadRegistrations, type MessageEvent } from '@spamgate/schemas';
import { ANSWERING_LABEL } from '../src/responses.ts';
import { loadScenarioFile, type ScenarioEntry } from '../src/scenario-file.ts';
import { SCENARIO_KINDS } from '../src/scenarios/index.ts';
import { loadSweep, SWEEP_PATH } from '../src/sweep.ts';
import { generateTraffic, planTraffic } from '../src/traffic.ts';
import { DEMO_REGISTRATIONS, groupBy, median, options } from './fixtures.ts';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const sweep = loadSweep(SWEEP_PATH);
const PACES: Readonly<Record<string, number>> = { '1s': 1, '30s': 30, '5min': 300 };
const LEVELS: Readonly<Record<string, { spamReportRate: number; optOutRate: number }>> = {
  low: { spamReportRate: 0.0075, optOutRate: 0.02 },
  high: { spamReportRate: 0.035, optOutRate: 0.06 },
};
const points = sweep.points.map((point) => {
  const [, pace, level] = /^pace-(\w+)-(low|high)-outcomes$/.exec(point.id) ?? [];
  const scenarios = loadScenarioFile(point.scenariosPath);
  const traffic = options({
    scenarios,
    seed: sweep.seeds[0]!,
    ratePerSecond: sweep.ratePerSecond,
    durationMs: sweep.durationMs,
  });
  return { point, pace: PACES[pace ?? ''], level: LEVELS[level ?? ''], scenarios, traffic };
});
const runs = new Map<string, ReturnType<typeof generate>>();
function generate(traffic: (typeof points)[number]['traffic']) {
  const messages = new Map<string, MessageEvent[]>();
  for (const e of generateTraffic(traffic)) {
    if (e.type !== 'message') continue;
    const list = messages.get(e.label);
    if (list) list.push(e.value);
    else messages.set(e.label, [e.value]);
  }
  return messages;
}
/** The MessageEvents of a point's run, by scenario id (generated once). */
function runOf(p: (typeof points)[number]) {
  let run = runs.get(p.point.id);
  if (!run) {
    run = generate(p.traffic);
    runs.set(p.point.id, run);
  }
  return run;
}
const spamOf = (entries: readonly ScenarioEntry[]) => entries.filter((e) => e.truth.spam);
const legitimateOf = (entries: readonly ScenarioEntry[]) => entries.filter((e) => !e.truth.spam);

describe('the sweep', () => {
  it('has three per-number paces by two outcome levels, each run for ten minutes at 60 messages/s with several seeds', () => {
    assert.equal(sweep.durationMs, 600_000);
    assert.equal(sweep.ratePerSecond, 60);
    assert.ok(sweep.seeds.length >= 2);
    assert.deepEqual(
      points.map((p) => [p.pace, p.level]),
      [1, 30, 300].flatMap((pace) => [
        [pace, LEVELS.low],
        [pace, LEVELS.high],
      ]),
    );
  });

  it('holds the same legitimate background and near-shapes at every point, and every spam shape', () => {
    const background = (p: (typeof points)[number]) =>
      legitimateOf(p.scenarios.scenarios).map((e) => ({
        id: e.id,
        kind: e.kind.kind,
        share: e.share,
        params: e.params,
      }));
    for (const p of points) assert.deepEqual(background(p), background(points[0]!), p.point.id);
    const legitimate = new Set(legitimateOf(points[0]!.scenarios.scenarios).map((e) => e.kind.kind));
    for (const kind of [
      'ordinary-chat',
      'group-chat',
      'registered-notifications',
      'p2p-campaign',
      'school-alert',
    ])
      assert.ok(legitimate.has(kind), kind);
    for (const kind of ['small-business', 'survey', 'auto-reply-loop', 'reassigned-number'])
      assert.ok(legitimate.has(kind));
    const badDay = points[0]!.scenarios.scenarios.find((e) => e.id === 'p2p-bad-day')!;
    assert.equal(typeof badDay.params.campaignId, 'string');
    assert.equal(badDay.params.optOutRate, 0.08);
    const spamKinds = [...SCENARIO_KINDS.values()]
      .filter((k) => k.truth(parseDefaults(k.params)).spam)
      .map((k) => k.kind);
    for (const p of points) {
      const spam = spamOf(p.scenarios.scenarios);
      assert.deepEqual(new Set(spam.map((e) => e.kind.kind)), new Set(spamKinds), p.point.id);
      const bots = spam.filter((e) => e.kind.kind === 'ignores-opt-outs');
      assert.deepEqual(
        bots.map((e) => e.params.campaignId === null).sort(),
        [false, true],
        'a registered bot and another',
      );
      for (const e of spam) {
        assert.equal(e.params.spamReportRate, p.level!.spamReportRate, `${p.point.id} ${e.id}`);
        assert.equal(e.params.optOutRate, p.level!.optOutRate, `${p.point.id} ${e.id}`);
      }
    }
  });

  for (const p of points) {
    it(`${p.point.id}: plans 40-80 messages/s with every spam team at 0.5-2/s, and the run keeps to the plan, each scenario on numbers of its own`, () => {
      const plan = planTraffic(p.traffic);
      const total = plan.reduce((s, s2) => s + s2.ratePerSecond, 0);
      assert.ok(total >= 40 && total <= 80, `${total} messages/s`);
      const run = runOf(p);
      const sent = [...run.values()].reduce((n, m) => n + m.length, 0) / (sweep.durationMs / 1000);
      assert.ok(Math.abs(sent / total - 1) < 0.1, `${sent}/s sent for ${total}/s planned`);
      const answers = run.get(ANSWERING_LABEL) ?? [];
      const owners = new Map<string, string>();
      for (const [label, messages] of run) {
        if (label === ANSWERING_LABEL) continue;
        for (const m of messages) {
          const owner = owners.get(m.sender) ?? label;
          assert.equal(owner, label, `${m.sender} sends for ${owner} and ${label}`);
          owners.set(m.sender, label);
        }
      }
      for (const s of plan.filter((s) => s.spam)) {
        const own = run.get(s.id) ?? [];
        const senders = new Set(own.map((m) => m.sender));
        const caused = (own.length + answers.filter((a) => senders.has(a.recipient)).length) / 600;
        if (s.kind === 'blast') {
          // One number at its natural pace, whatever the point.
          assert.ok(!s.sizedByTeam && senders.size === 1 && caused > 2, `blast: ${caused}/s`);
          continue;
        }
        assert.ok(s.sizedByTeam, `${s.id} is sized by its team`);
        assert.ok(s.ratePerSecond >= 0.5 && s.ratePerSecond <= 2, `${s.id}: ${s.ratePerSecond}/s planned`);
        // A bot's STOP chains vary more than a script's steady pace.
        const tolerance = s.kind === 'ignores-opt-outs' ? 0.2 : 0.1;
        assert.ok(
          Math.abs(caused / s.ratePerSecond - 1) < tolerance,
          `${s.id}: ${caused}/s for ${s.ratePerSecond}/s`,
        );
      }
    });

    it(`${p.point.id}: every spam number but the blast texts at about its point's pace`, () => {
      const run = runOf(p);
      for (const e of spamOf(p.scenarios.scenarios)) {
        if (e.kind.kind === 'blast') continue;
        if (e.kind.kind === 'ignores-opt-outs') {
          // A bot answers within seconds between its scheduled texts: its pace is its mean.
          const numbers = groupBy(run.get(e.id) ?? [], (m) => m.sender);
          const perNumber = (run.get(e.id)?.length ?? 0) / numbers.size;
          const mean = sweep.durationMs / 1000 / perNumber;
          assert.ok(
            mean > p.pace! / 3 && mean < p.pace! * 3,
            `${e.id}: a text every ${mean} s at a ${p.pace} s pace`,
          );
          continue;
        }
        const gaps = [...groupBy(run.get(e.id) ?? [], (m) => m.sender).values()].flatMap((texts) =>
          texts.slice(1).map((m, i) => (m.eventTime - texts[i]!.eventTime) / 1000),
        );
        const gap = median(gaps);
        assert.ok(
          gap > p.pace! / 3 && gap < p.pace! * 3,
          `${e.id}: median gap ${gap} s at a ${p.pace} s pace`,
        );
      }
    });

    it(`${p.point.id}: registered campaigns are in the demo registrations and every registered sender stays under its cap`, () => {
      const registrations = loadRegistrations(DEMO_REGISTRATIONS);
      for (const e of p.scenarios.scenarios) {
        const campaign = e.params.campaignId;
        if (typeof campaign === 'string')
          assert.ok(registrations.campaigns.has(campaign), `${e.id}: ${campaign}`);
      }
      let registered = 0;
      for (const messages of runOf(p).values()) {
        for (const [sender, texts] of groupBy(
          messages.filter((m) => m.campaignId !== null),
          (m) => m.sender,
        )) {
          registered++;
          const cap = capOf(registrations, texts[0]!.campaignId)!;
          assert.ok(registrations.campaigns.has(texts[0]!.campaignId!), `${sender}: unlisted campaign`);
          // Most texts in any 60 s.
          let most = 0;
          for (let i = 0, j = 0; i < texts.length; i++) {
            while (texts[i]!.eventTime - texts[j]!.eventTime >= 60_000) j++;
            most = Math.max(most, i - j + 1);
          }
          assert.ok(most < cap.perMinute!, `${sender} (${texts[0]!.campaignId}): ${most} in a minute`);
        }
      }
      assert.ok(registered >= 5, `${registered} registered senders`);
    });
  }

  it('dry-runs a point from the command line', () => {
    const file = sweep.points.at(-1)!.scenariosPath;
    const args = ['--dry-run', '--scenarios', file, '--rate', '60', '--duration', '60s', '--start', '0'];
    const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    for (const id of ['snowshoe', 'sim-box', 'template-rotator', 'small-business', 'survey', 'p2p-bad-day'])
      assert.match(r.stdout, new RegExp(`^${id} +(spam|legitimate) +\\d+ +\\d+$`, 'm'));
  });
});

/** A kind's parameters at their defaults, to ask it its ground truth. */
function parseDefaults(spec: Readonly<Record<string, { default: unknown }>>) {
  return Object.fromEntries(Object.entries(spec).map(([k, d]) => [k, d.default])) as never;
}
