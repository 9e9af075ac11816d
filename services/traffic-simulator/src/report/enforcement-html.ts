/** The enforcement section of the HTML report (enforcement.ts has the figures, docs/report.md their definitions). */
import { escapeHtml as e } from './charts.ts';
import type { Enforcement } from './enforcement.ts';
import { formatCount, formatDuration, formatPercent } from './format.ts';

const n = (v: number): string => `<td class="n">${formatCount(v)}</td>`;

/** A bar of one scenario's messages: delivered, stopped by content, BLOCK, THROTTLE. */
function bar(s: Enforcement['scenarios'][number]): string {
  const total = Math.max(1, s.messages);
  const parts: [number, string, string][] = [
    [s.delivered, s.spam ? '#b42318' : '#1a7f37', 'delivered'],
    [s.stopped.CONTENT, '#6941c6', 'stopped by content'],
    [s.stopped.BLOCK, '#1f2933', 'stopped by BLOCK'],
    [s.stopped.THROTTLE, '#b54708', 'stopped by THROTTLE'],
  ];
  let x = 0;
  const rects = parts
    .filter(([v]) => v > 0)
    .map(([v, colour, what]) => {
      const w = (200 * v) / total;
      const r = `<rect x="${x.toFixed(1)}" y="2" width="${w.toFixed(1)}" height="12" fill="${colour}"><title>${what}: ${formatCount(v)}</title></rect>`;
      x += w;
      return r;
    })
    .join('');
  return `<svg class="chart" width="204" height="16" viewBox="0 0 204 16" role="img" aria-label="${e(s.id)}: ${formatCount(s.delivered)} of ${formatCount(s.messages)} delivered">${rects}</svg>`;
}

export function enforcementHtml(en: Enforcement): string {
  const when =
    en.time === 'wall-clock'
      ? 'Each message meets the firewall when it was sent; a decision is in force from when it was published, so pipeline latency counts.'
      : 'The run was not paced by the wall clock: it is replayed in event time, each decision in force from its evidence.';
  const rows = en.scenarios
    .map(
      (s) =>
        `<tr><th scope="row"><code>${e(s.id)}</code></th><td>${s.spam ? 'spam' : 'legitimate'}</td>${n(s.messages)}${n(s.delivered)}<td class="n">${formatPercent(s.deliveredShare)}</td>${n(s.stopped.CONTENT)}${n(s.stopped.BLOCK)}${n(s.stopped.THROTTLE)}${n(s.toContacts)}<td>${bar(s)}</td></tr>`,
    )
    .join('');
  const blocks = en.contentDecisions.filter((c) => c.action === 'BLOCK');
  const lags = blocks.map((c) => c.lagMs).sort((a, b) => a - b);
  const nonBinding =
    en.nonBinding.length === 0
      ? ''
      : `<table><caption>THROTTLEs that never stopped a message while in force (did not bind), most messages first</caption><thead><tr><th scope="col">sender</th><th scope="col">scenario</th><th scope="col">messages under it</th></tr></thead><tbody>${[
          ...en.nonBinding,
        ]
          .sort((a, b) => b.messages - a.messages)
          .slice(0, 10)
          .map(
            (t) =>
              `<tr><td class="sender">${e(t.sender)}</td><td><code>${e(t.group)}</code></td>${n(t.messages)}</tr>`,
          )
          .join('')}</tbody></table>`;
  return `<section aria-labelledby="enforcement">
<h2 id="enforcement">Enforcement: what the firewall let through</h2>
<p class="note">${formatCount(en.messages)} messages of the run's ledger replayed through the reference firewall against the decisions in force at their time (sms.decisions and sms.content-decisions as ClickHouse recorded them). ${when}${en.contentKeys ? '' : ' The ledger has no content keys (the run had no hash key): content decisions were not matched.'}</p>
<div class="cards">
<div class="card"><div class="value">${formatPercent(en.spamDeliveredShare)}</div><div class="name">spam delivered (${formatCount(en.spam.delivered)} of ${formatCount(en.spam.messages)})</div></div>
<div class="card"><div class="value">${formatPercent(en.legitimateStoppedShare)}</div><div class="name">legitimate stopped (${formatCount(en.legitimate.messages - en.legitimate.delivered)} of ${formatCount(en.legitimate.messages)})</div></div>
<div class="card"><div class="value">${formatCount(blocks.length)}</div><div class="name">content BLOCKs${lags.length > 0 && en.time === 'wall-clock' ? `, slowest ${formatDuration(lags.at(-1)!)} after its evidence` : ''}</div></div>
<div class="card"><div class="value">${formatCount(en.nonBinding.length)} / ${formatCount(en.throttles)}</div><div class="name">THROTTLEs that did not bind</div></div>
</div>
<table><caption>Messages per scenario: delivered, and stopped by a content decision, a BLOCK or a THROTTLE; to contacts: messages to recipients who had messaged the sender (a NEW_CONTACTS throttle lets them through)</caption>
<thead><tr><th scope="col">scenario</th><th scope="col">kind</th><th scope="col">messages</th><th scope="col">delivered</th><th scope="col">delivered %</th><th scope="col">by content</th><th scope="col">by BLOCK</th><th scope="col">by THROTTLE</th><th scope="col">to contacts</th><th scope="col">delivered / stopped</th></tr></thead>
<tbody>${rows}</tbody></table>
${nonBinding}
</section>
`;
}
