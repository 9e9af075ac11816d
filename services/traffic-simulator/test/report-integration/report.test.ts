// The decision-quality report built from a real ClickHouse database (a small run written the way
// the sink writes it, with duplicates, shadow evaluations and another run's rows), printed by
// the CLI, and its HTML page rendered in headless Chromium.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { createMigratedTestDatabase, getInfra, type TestDatabase } from '@spamgate/test';
import { launchChromium } from '../../src/report/browser.ts';
import { buildReport } from '../../src/report/build.ts';
import { runReportCli } from '../../src/report/cli.ts';
import { renderHtml } from '../../src/report/html.ts';
import type { Report } from '../../src/report/model.ts';
import {
  BLASTER,
  LABELS,
  ORDINARY_1,
  ORDINARY_2,
  OTHER_RUN,
  PHISHER_1,
  PHISHER_2,
  STRANGER,
  T,
  VOLUNTEER,
  writeRun,
} from './fixture.ts';

let db: TestDatabase;
let dir: string;
let report: Report;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'spamgate-report-'));
  db = await createMigratedTestDatabase('report');
  await writeRun(db);
  report = await buildReport({
    labels: LABELS,
    clickhouse: db.client,
    database: db.database,
    now: () => T + 3_600_000,
  });
});

after(async () => {
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("reads each sender's enforced decisions in event time, collapsing duplicates and ignoring shadow evaluations and other runs", async () => {
  const { collect } = await import('../../src/report/collect.ts');
  const observed = await collect({ labels: LABELS, clickhouse: db.client, database: db.database });
  const by = new Map(observed.senders.map((s) => [s.sender, s]));
  assert.deepEqual(
    [...by.keys()].sort(),
    [BLASTER, PHISHER_1, PHISHER_2, ORDINARY_1, ORDINARY_2, STRANGER, VOLUNTEER].sort(),
    `${OTHER_RUN} is another run's`,
  );
  assert.deepEqual(by.get(BLASTER), {
    sender: BLASTER,
    messages: 901,
    evaluations: 5,
    finalAction: 'BLOCK',
    strongestAction: 'BLOCK',
    firstThrottleOrBlock: { eventMs: T + 70_000, decidedAtMs: T + 73_000 },
    firstBlock: { eventMs: T + 130_000, decidedAtMs: T + 131_000 },
  });
  assert.deepEqual(by.get(VOLUNTEER), {
    sender: VOLUNTEER,
    messages: 400,
    evaluations: 3,
    finalAction: 'ALLOW',
    strongestAction: 'THROTTLE',
    firstThrottleOrBlock: { eventMs: T + 50_000, decidedAtMs: T + 51_000 },
    firstBlock: null,
  });
  assert.equal(by.get(ORDINARY_1)?.finalAction, 'MONITOR');
  assert.deepEqual(by.get(ORDINARY_2), {
    sender: ORDINARY_2,
    messages: 2,
    evaluations: 0,
    finalAction: 'ALLOW',
    strongestAction: 'ALLOW',
    firstThrottleOrBlock: null,
    firstBlock: null,
  });
  assert.deepEqual(observed.deadLetters, {
    total: 2,
    byCause: [
      {
        service: 'feature-engine',
        originalTopic: 'run1.sms.feedback-events',
        errorCode: 'BAD_MARKER',
        records: 1,
      },
      {
        service: 'feature-engine',
        originalTopic: 'run1.sms.message-events',
        errorCode: 'BAD_MARKER',
        records: 1,
      },
    ],
  });
});

test('scores the run: the quality bar passes, with the time to first action in event time and the decision lag', () => {
  const { score } = report;
  assert.equal(score.passed, true, JSON.stringify(score.checks.filter((c) => !c.passed)));
  assert.deepEqual(score.block, { predicted: 3, actual: 3, truePositives: 3, precision: 1, recall: 1 });
  assert.deepEqual(score.unlabelled, { senders: 1, everBlocked: 1 });
  const phishing = score.scenarios.find((s) => s.id === 'phishing-snowshoe')!;
  assert.deepEqual(phishing.firstBlock, {
    atMs: T + 140_000,
    afterFirstMessageMs: 20_000,
    decisionLagMs: 5_000,
    sender: PHISHER_1,
  });
  assert.deepEqual(phishing.senderTimeToAction, { medianMs: 10_500, maxMs: 20_000 });
  const p2p = score.scenarios.find((s) => s.id === 'p2p-registered')!;
  assert.deepEqual(p2p.final, { ALLOW: 1, MONITOR: 0, THROTTLE: 0, BLOCK: 0 });
  assert.deepEqual(p2p.strongest, { ALLOW: 0, MONITOR: 0, THROTTLE: 1, BLOCK: 0 });
  const blast = score.scenarios.find((s) => s.id === 'blast')!;
  assert.equal(blast.firstThrottleOrBlock?.afterFirstMessageMs, 10_000);
  assert.equal(blast.firstBlock?.afterFirstMessageMs, 70_000);
  assert.equal(blast.observedMessages, 901);
});

test('lists the top offenders with their final action and top reasons, and charts the busiest senders with their action changes', () => {
  assert.deepEqual(
    report.offenders.map((o) => [o.sender, o.messages, o.scenarioId, o.finalAction]),
    [
      [BLASTER, 901, 'blast', 'BLOCK'],
      [VOLUNTEER, 400, 'p2p-registered', 'ALLOW'],
      [PHISHER_1, 30, 'phishing-snowshoe', 'BLOCK'],
      [PHISHER_2, 20, 'phishing-snowshoe', 'BLOCK'],
      [ORDINARY_1, 6, 'ordinary', 'MONITOR'],
      [ORDINARY_2, 2, 'ordinary', 'ALLOW'],
      [STRANGER, 1, null, 'BLOCK'],
    ],
  );
  assert.deepEqual(report.offenders[0]!.topReasons, [
    { code: 'MINUTE_VOLUME', evaluations: 4 },
    { code: 'OPT_OUT_RATE', evaluations: 4 },
  ]);
  assert.equal(report.offenders[0]!.urlMessages, 901);
  assert.equal(report.offenders[0]!.spamReports, 4);
  const blaster = report.timelines.find((t) => t.sender === BLASTER)!;
  assert.deepEqual(
    blaster.minutes.map((m) => [m.minuteMs - T, m.messages]),
    [
      [0, 0],
      [60_000, 301],
      [120_000, 350],
      [180_000, 250],
      [240_000, 0],
    ],
  );
  assert.deepEqual(
    blaster.changes.map((c) => [c.from, c.to, c.atMs - T, c.decidedAtMs - T]),
    [
      ['ALLOW', 'THROTTLE', 70_000, 73_000],
      ['THROTTLE', 'BLOCK', 130_000, 131_000],
    ],
  );
  assert.deepEqual(
    report.timelines.map((t) => [t.sender, t.changes.length]),
    [
      [BLASTER, 2],
      [VOLUNTEER, 2],
      [PHISHER_1, 2],
      [PHISHER_2, 1],
      [ORDINARY_1, 1],
      [ORDINARY_2, 0],
    ],
  );
  assert.equal(report.timelines.find((t) => t.sender === PHISHER_2)!.changes[0]!.trigger, 'CLUSTER');
});

test('npm run report prints the report and writes the HTML page, with ClickHouse from SPAMGATE_CLICKHOUSE_*', async () => {
  const labelsPath = join(dir, 'labels.json');
  const htmlPath = join(dir, 'out', 'report.html');
  writeFileSync(labelsPath, JSON.stringify(LABELS));
  let stdout = '';
  let stderr = '';
  const code = await runReportCli(
    ['--labels', labelsPath, '--html', htmlPath, '--check'],
    { SPAMGATE_CLICKHOUSE_URL: (await getInfra()).clickhouseUrl, SPAMGATE_CLICKHOUSE_DATABASE: db.database },
    { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } },
  );
  assert.equal(code, 0, stdout);
  assert.match(stdout, /Quality bar: PASS \(7 of 7 checks passed\)/);
  assert.match(stdout, new RegExp(`1  \\${BLASTER}  blast +901`));
  assert.equal(stderr, `HTML report written to ${htmlPath}\n`);
  assert.match(readFileSync(htmlPath, 'utf8'), /^<!DOCTYPE html>/);
});

test('the HTML page renders its charts in headless Chromium: bars, lines and change markers drawn, nothing fetched, no errors', async () => {
  const html = renderHtml(report);
  const htmlPath = join(dir, 'report.html');
  writeFileSync(htmlPath, html);
  // Fails (not skips) with the fix when Chromium is missing.
  await using chromium = await launchChromium();
  const page = await chromium.context.newPage();
  const problems: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(pathToFileURL(htmlPath).href, { waitUntil: 'load' });

  const boxes = async (selector: string) =>
    Promise.all(
      (await page.locator(selector).all()).map(
        async (el) => (await el.boundingBox()) ?? { width: 0, height: 0 },
      ),
    );
  const drawn = {
    charts: await boxes('svg.chart'),
    bars: await boxes('svg[data-chart="scenario-actions"] rect.bar'),
    series: await Promise.all(
      (await page.locator('svg[data-chart="timeline"] path.series').all()).map(async (p) => ({
        // Evaluated in the page: an SVG path's drawn length.
        length: await p.evaluate((el) => (el as unknown as { getTotalLength(): number }).getTotalLength()),
        width: (await p.boundingBox())?.width ?? 0,
      })),
    ),
    markers: await boxes('svg[data-chart="timeline"] g.change line'),
    markerLabels: await page.locator('svg[data-chart="timeline"] g.change text').allTextContents(),
    legend: await page.locator('text.legend').allTextContents(),
    images: await page.locator('img, script, iframe').count(),
    title: await page.title(),
    scenarioTitles: await page.locator('th[scope="row"] .meta').allTextContents(),
  };
  const segments = report.score.scenarios.reduce(
    (n, s) => n + Object.values(s.strongest).filter((v) => v > 0).length,
    0,
  );
  const changes = report.timelines.reduce((n, t) => n + t.changes.length, 0);
  assert.equal(segments, 5);
  assert.equal(changes, 8);
  assert.equal(drawn.charts.length, 1 + report.timelines.length);
  assert.equal(drawn.bars.length, segments);
  assert.equal(drawn.series.length, report.timelines.length);
  assert.equal(drawn.markers.length, changes);
  for (const b of [...drawn.charts, ...drawn.bars]) assert.ok(b.width > 0 && b.height > 0, JSON.stringify(b));
  for (const s of drawn.series) assert.ok(s.length > 0 && s.width > 0, JSON.stringify(s));
  for (const m of drawn.markers) assert.ok(m.height > 0, JSON.stringify(m));
  assert.deepEqual(drawn.markerLabels.sort(), [
    'ALLOW',
    'BLOCK',
    'BLOCK',
    'BLOCK',
    'MONITOR',
    'MONITOR',
    'THROTTLE',
    'THROTTLE',
  ]);
  assert.deepEqual(drawn.legend, ['ALLOW', 'MONITOR', 'THROTTLE', 'BLOCK']);
  assert.equal(drawn.images, 0, 'a hostile scenario title stays text');
  assert.ok(
    drawn.scenarioTitles.includes('Phishing snowshoe <img src=x onerror=alert(1)>'),
    drawn.scenarioTitles.join('|'),
  );
  assert.equal(drawn.title, 'spamgate decision-quality report, seed 42');
  assert.deepEqual(problems, []);
  assert.deepEqual(requests, [pathToFileURL(htmlPath).href], 'the page fetched nothing but itself');

  const png = join(dir, 'report.png');
  await page.screenshot({ path: png, fullPage: true });
  const bytes = readFileSync(png);
  assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.ok(statSync(png).size > 50_000, `a screenshot with content (${statSync(png).size} bytes)`);
});
