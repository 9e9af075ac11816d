/**
 * The report as one self-contained HTML page: inline CSS and SVG, no script, nothing to fetch
 * (a Content-Security-Policy says so to the browser too). Every string from data is escaped.
 */
import { ACTION_COLOURS, escapeHtml as e, scenarioActionsChart, timelineChart } from './charts.ts';
import { enforcementHtml } from './enforcement-html.ts';
import { formatCount, formatDuration, formatPercent, formatRatio, formatTime } from './format.ts';
import { ACTIONS, type QualityCheck, type Report, type TimeToAction } from './model.ts';

const STYLE = `
:root { color-scheme: light; }
body { font-family: system-ui, "DejaVu Sans", "Liberation Sans", Arial, sans-serif; margin: 0; color: #1f2933; background: #f7f8fa; line-height: 1.4; }
main { max-width: 1200px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 1.6rem; margin: 0 0 4px; }
h2 { font-size: 1.2rem; margin: 32px 0 10px; border-bottom: 1px solid #d9dee3; padding-bottom: 4px; }
.meta { color: #52606d; margin: 0; font-size: 0.9rem; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin-top: 18px; }
.card { background: #fff; border: 1px solid #d9dee3; border-radius: 6px; padding: 10px 14px; min-width: 150px; }
.card .value { font-size: 1.5rem; font-weight: 600; }
.card .name { font-size: 0.8rem; color: #52606d; }
.badge { display: inline-block; font-weight: 700; font-size: 0.8rem; padding: 1px 8px; border-radius: 4px; color: #fff; }
.pass { background: #1a7f37; }
.fail { background: #b42318; }
table { border-collapse: collapse; background: #fff; font-size: 0.85rem; margin: 6px 0; }
caption { text-align: left; color: #52606d; padding: 4px 0; font-size: 0.85rem; }
th, td { border: 1px solid #d9dee3; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #eef1f4; font-weight: 600; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.sender, code { font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 0.8rem; overflow-wrap: anywhere; }
.chart { background: #fff; border: 1px solid #d9dee3; border-radius: 6px; max-width: 100%; height: auto; }
.chart text { font-family: system-ui, "DejaVu Sans", Arial, sans-serif; font-size: 12px; fill: #1f2933; }
.chart .tick { fill: #52606d; font-size: 11px; }
.chart .axis-label { fill: #52606d; font-size: 11px; }
.chart .marker { font-size: 10px; font-weight: 700; }
.chart .spam { fill: #b42318; font-size: 10px; }
.chart .legit { fill: #52606d; font-size: 10px; }
.chart .grid { stroke: #e4e7eb; }
.chart .axis { stroke: #7b8794; }
.timelines { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 16px; }
figure { margin: 0; }
figcaption { font-size: 0.85rem; margin-bottom: 4px; }
.action { font-weight: 600; }
.note { color: #52606d; font-size: 0.85rem; max-width: 80ch; }
`;

const action = (a: string): string =>
  `<span class="action" style="color:${a === 'ALLOW' ? '#4b5563' : (ACTION_COLOURS[a as keyof typeof ACTION_COLOURS] ?? '#1f2933')}">${e(a)}</span>`;

const badge = (passed: boolean): string =>
  passed ? '<span class="badge pass">PASS</span>' : '<span class="badge fail">FAIL</span>';

const n = (v: number): string => `<td class="n">${formatCount(v)}</td>`;
const after = (t: TimeToAction | null): string =>
  t === null ? '-' : `${formatDuration(t.afterFirstMessageMs)} <span class="meta">(${e(t.sender)})</span>`;

function checksTable(caption: string, checks: readonly QualityCheck[]): string {
  return `<table><caption>${e(caption)}</caption><thead><tr><th scope="col">result</th><th scope="col">check</th><th scope="col">measured</th></tr></thead><tbody>${checks
    .map(
      (c) =>
        `<tr data-check="${e(c.id)}"><td>${badge(c.passed)}</td><td>${e(c.check)}</td><td>${e(c.detail)}</td></tr>`,
    )
    .join('')}</tbody></table>`;
}

export function renderHtml(report: Report): string {
  const { score, run } = report;
  const passed = score.checks.filter((c) => c.passed).length;
  const card = (value: string, name: string) =>
    `<div class="card"><div class="value">${value}</div><div class="name">${e(name)}</div></div>`;

  const scenarioHead = (s: Report['score']['scenarios'][number]) =>
    `<th scope="row"><code>${e(s.id)}</code><br><span class="meta">${e(s.title)}</span></th><td>${s.spam ? 'spam' : 'legitimate'}</td>`;
  const scenarioRows = score.scenarios
    .map(
      (s) =>
        `<tr>${scenarioHead(s)}${n(s.senders)}${n(s.evaluated)}${ACTIONS.map((a) => n(s.final[a])).join('')}${n(s.everBlocked)}${n(s.everThrottledOrBlocked)}${n(s.labelledMessages)}${n(s.observedMessages)}</tr>`,
    )
    .join('');
  const timingRows = score.scenarios
    .map(
      (s) =>
        `<tr>${scenarioHead(s)}<td>${after(s.firstThrottleOrBlock)}</td><td>${after(s.firstBlock)}</td><td class="n">${s.firstThrottleOrBlock === null ? '-' : formatDuration(s.firstThrottleOrBlock.decisionLagMs)}</td><td class="n">${s.senderTimeToAction === null ? '-' : formatDuration(s.senderTimeToAction.medianMs)}</td><td class="n">${s.senderTimeToAction === null ? '-' : formatDuration(s.senderTimeToAction.maxMs)}</td></tr>`,
    )
    .join('');

  const offenderRows = report.offenders
    .map(
      (o, i) =>
        `<tr><td class="n">${i + 1}</td><td class="sender">${e(o.sender)}</td><td>${o.scenarioId === null ? '<span class="meta">unlabelled</span>' : `<code>${e(o.scenarioId)}</code>${o.spam ? ' (spam)' : ''}`}</td>${n(o.messages)}${n(o.urlMessages)}${n(o.spamReports)}<td>${action(o.finalAction)}</td><td>${action(o.strongestAction)}</td><td>${o.topReasons.length === 0 ? '-' : o.topReasons.map((r) => `<code>${e(r.code)}</code> (${formatCount(r.evaluations)})`).join(', ')}</td></tr>`,
    )
    .join('');

  const timelines = report.timelines
    .map(
      (t, i) =>
        `<figure><figcaption><code>${e(t.sender)}</code> ${t.scenarioId === null ? '(unlabelled)' : `<code>${e(t.scenarioId)}</code> ${t.spam ? 'spam' : 'legitimate'}`}, ${formatCount(t.messagesTotal)} messages, ${t.changes.length} change${t.changes.length === 1 ? '' : 's'} of action</figcaption>${timelineChart(t, i)}</figure>`,
    )
    .join('');

  const deadLetters =
    report.deadLetters.byCause.length === 0
      ? ''
      : `<table><caption>Dead letters by cause</caption><thead><tr><th scope="col">service</th><th scope="col">topic</th><th scope="col">error</th><th scope="col">records</th></tr></thead><tbody>${report.deadLetters.byCause
          .map(
            (c) =>
              `<tr><td>${e(c.service)}</td><td><code>${e(c.originalTopic)}</code></td><td><code>${e(c.errorCode)}</code></td>${n(c.records)}</tr>`,
          )
          .join('')}</tbody></table>`;

  const metricRow = (name: string, m: Report['score']['block']) =>
    `<tr><th scope="row">${name}</th>${n(m.predicted)}${n(m.truePositives)}${n(m.actual)}<td class="n">${formatRatio(m.precision)}</td><td class="n">${formatRatio(m.recall)}</td></tr>`;

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>spamgate decision-quality report, seed ${e(String(run.seed))}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<header>
<h1>spamgate decision-quality report</h1>
<p class="meta">Simulator run with seed ${e(String(run.seed))}: event time ${formatTime(run.startedAt)} to ${formatTime(run.endedAt)} (${formatDuration(run.endedAt - run.startedAt)}), ${formatCount(run.ratePerSecond)} messages/s, topic prefix ${run.topicPrefix === '' ? '(none)' : `<code>${e(run.topicPrefix)}</code>`}. Read from ClickHouse database <code>${e(report.database)}</code> at ${formatTime(report.generatedAt)}.</p>
<div class="cards">
${card(`${badge(score.passed)} ${passed}/${score.checks.length}`, 'quality bar checks passed')}
${report.enforcement ? card(formatPercent(report.enforcement.spamDeliveredShare), 'spam messages delivered') : ''}
${report.enforcement ? card(formatPercent(report.enforcement.legitimateStoppedShare), 'legitimate messages stopped') : ''}
${card(formatRatio(score.block.precision), 'precision of BLOCK')}
${card(formatRatio(score.throttleOrBlock.recall), 'recall of spam senders (THROTTLE or BLOCK)')}
${card(`${formatCount(score.spamSenders)} / ${formatCount(score.senders)}`, 'spam / labelled senders')}
${card(formatCount(score.block.predicted), 'senders ever BLOCKed')}
${card(formatCount(report.deadLetters.total), 'dead letters')}
</div>
</header>

<section aria-labelledby="bar">
<h2 id="bar">Quality bar</h2>
${checksTable('The quality bar: every check must pass', score.checks)}
${score.advisories.length === 0 ? '' : checksTable('Also expected by the labels, not part of the quality bar', score.advisories)}
<table><caption>Precision and recall per sender (against the labels' spam flag)</caption><thead><tr><th scope="col">spam predicted by</th><th scope="col">senders</th><th scope="col">of them spam</th><th scope="col">spam senders</th><th scope="col">precision</th><th scope="col">recall</th></tr></thead><tbody>
${metricRow('ever BLOCKed', score.block)}
${metricRow('ever THROTTLEd or BLOCKed', score.throttleOrBlock)}
</tbody></table>
${score.unlabelled.senders === 0 ? '' : `<p class="note">${formatCount(score.unlabelled.senders)} senders in ClickHouse are not in the labels (${formatCount(score.unlabelled.everBlocked)} of them BLOCKed); they are left out of every figure.</p>`}
</section>

${report.enforcement ? enforcementHtml(report.enforcement) : ''}
<section aria-labelledby="scenarios">
<h2 id="scenarios">Decisions per scenario</h2>
${scenarioActionsChart(score.scenarios)}
<table><caption>Senders per scenario by final action (in force at the end of the run), and how many were ever BLOCKed, or ever THROTTLEd or BLOCKed</caption>
<thead><tr><th scope="col">scenario</th><th scope="col">kind</th><th scope="col">senders</th><th scope="col">evaluated</th>${ACTIONS.map((a) => `<th scope="col">${a}</th>`).join('')}<th scope="col">ever BLOCKed</th><th scope="col">ever THROTTLEd or BLOCKed</th><th scope="col">messages (labels)</th><th scope="col">messages counted</th></tr></thead>
<tbody>${scenarioRows}</tbody></table>
<table><caption>Time from the scenario's first message to its first THROTTLE or BLOCK and its first BLOCK, in event time (the sender decided first in brackets); lag: how long after its evidence that decision was made, wall clock; per sender: each acted-on sender's first action after its own first message</caption>
<thead><tr><th scope="col">scenario</th><th scope="col">kind</th><th scope="col">first THROTTLE or BLOCK</th><th scope="col">first BLOCK</th><th scope="col">lag</th><th scope="col">per sender, median</th><th scope="col">per sender, max</th></tr></thead>
<tbody>${timingRows}</tbody></table>
</section>

<section aria-labelledby="timelines">
<h2 id="timelines">Messages per minute of the busiest senders</h2>
<p class="note">The busiest senders overall and the busiest of each scenario, in event time. Dashed lines mark each change of the action in force (hover for the trigger and reasons); THROTTLE and BLOCK periods are tinted.</p>
<div class="timelines">${timelines || '<p class="note">No messages were counted in sender_minute over the run.</p>'}</div>
</section>

<section aria-labelledby="offenders">
<h2 id="offenders">Top offenders</h2>
<table><caption>Busiest senders by messages over the run, from ClickHouse; top reasons: the reason codes their enforced evaluations cited most</caption>
<thead><tr><th scope="col">#</th><th scope="col">sender</th><th scope="col">scenario</th><th scope="col">messages</th><th scope="col">with URL</th><th scope="col">spam reports</th><th scope="col">final</th><th scope="col">strongest</th><th scope="col">top reasons</th></tr></thead>
<tbody>${offenderRows}</tbody></table>
</section>

<section aria-labelledby="dead-letters">
<h2 id="dead-letters">Dead letters</h2>
<p>${formatCount(report.deadLetters.total)} records of the run's topics were dead-lettered.</p>
${deadLetters}
</section>
<p class="note">Definitions of every figure: docs/report.md.</p>
</main>
</body>
</html>
`;
}
