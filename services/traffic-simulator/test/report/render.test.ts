// The terminal and HTML renderings of a report: what they show, that they are aligned and
// self-contained, and that no string from data can break out of them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reportOf } from '../../src/report/build.ts';
import { renderHtml } from '../../src/report/html.ts';
import { renderText } from '../../src/report/text.ts';
import { HOSTILE_SCENARIO, HOSTILE_SENDER, sampleRun, T0 } from './fixtures.ts';

function sample() {
  const { labels, observed } = sampleRun();
  return reportOf(labels, observed, { database: 'spamgate', generatedAt: T0 + 3_600_000 });
}

const count = (s: string, re: RegExp) => [...s.matchAll(re)].length;

test('the terminal report has the quality bar with PASS or FAIL per check, the metrics, both scenario tables and the top offenders', () => {
  const report = sample();
  const text = renderText(report);
  assert.match(text, /^spamgate decision-quality report\n/);
  assert.match(text, /Quality bar: PASS \(6 of 6 checks passed\)/);
  for (const c of report.score.checks)
    assert.ok(text.includes(`${c.passed ? 'PASS' : 'FAIL'}  ${c.check.replaceAll('\x1b', '\\x1b')}`), c.id);
  assert.match(text, /Also expected by the labels/);
  assert.match(text, /ever BLOCKed +2 +2 +1\.000 +0\.666\n/);
  assert.match(
    text,
    /FAIL {2}Every sender of blast \(Blast <\/style><b>bold<\/b>\) ends the run THROTTLEd or BLOCKed\n {8}1 of 2 senders end THROTTLEd or BLOCKed; not: blast-1\n/,
  );
  assert.match(text, /Top offenders/);
  assert.match(text, /1\s+<script>alert\("s"\)<\/script>'&\\x1b\[31m/);
  assert.match(text, /Dead letters of the run's topics: 2/);
  assert.match(text, /feature-engine\s+run1\.sms\.message-events\s+BAD_MARKER\s+2/);
});

test('the terminal report aligns its table columns and writes control characters from data as escapes', () => {
  const text = renderText(sample());
  assert.equal(text.includes('\x1b'), false, 'no raw escape character without colour');
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith('Senders per scenario'));
  const table = lines.slice(start + 1, start + 5); // header and three scenarios; the last column is right-aligned
  assert.equal(new Set(table.map((l) => l.length)).size, 1, table.join('\n'));
  // A right-aligned column: each number ends where its header does.
  const end = table[0]!.indexOf('senders') + 'senders'.length;
  for (const row of table.slice(1)) assert.match(row.slice(end - 1, end + 1), /^\d $/, row);
});

test('the terminal report colours PASS and FAIL only when asked', () => {
  const text = renderText(sample(), { color: true });
  assert.ok(text.includes('\x1b[31mFAIL\x1b[0m'));
  assert.ok(text.includes('\x1b[32mPASS\x1b[0m'));
});

test('the HTML page draws a bar segment per action present in each scenario, a line per charted sender and a marker per change', () => {
  const html = renderHtml(sample());
  assert.equal(count(html, /<rect class="bar"/g), 5);
  assert.equal(count(html, /<path class="series"/g), 3);
  assert.equal(count(html, /<g class="change"/g), 4);
  assert.equal(count(html, /<svg class="chart"/g), 4);
  assert.match(html, /<title id="chart-scenarios-title">Strongest action per sender, by scenario<\/title>/);
  for (const a of ['ALLOW', 'MONITOR', 'THROTTLE', 'BLOCK'])
    assert.match(html, new RegExp(`class="legend">${a}<`));
  assert.match(html, /messages \/ min/);
  assert.match(html, /event time \(UTC\)/);
  assert.match(html, /data-check="precision-block"/);
});

test('the HTML page is self-contained: no script, no stylesheet or image to fetch, and a policy forbidding both', () => {
  const html = renderHtml(sample());
  assert.equal(/<script/i.test(html), false);
  assert.equal(/@import|url\(/i.test(html), false);
  const tags = html.match(/<[a-zA-Z][^>]*>/g) ?? [];
  assert.ok(tags.length > 100);
  for (const tag of tags) {
    const names = tag.replace(/"[^"]*"/g, '""');
    assert.equal(/^<(link|img|iframe|object|embed)|\s(src|href)=/i.test(names), false, tag);
  }
  assert.match(
    html,
    /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">/,
  );
  // The one URL is SVG's namespace, which is never fetched.
  assert.deepEqual([...new Set(html.match(/https?:\/\/[^\s"<]+/g))], ['http://www.w3.org/2000/svg']);
});

test('the HTML page escapes every string from data: senders, scenario ids and titles, reasons', () => {
  const html = renderHtml(sample());
  assert.equal(html.includes(HOSTILE_SENDER), false);
  assert.equal(html.includes(HOSTILE_SCENARIO), false);
  assert.equal(html.includes('<b>bold</b>'), false);
  assert.equal(html.includes('</style><b>'), false);
  assert.equal(html.includes('<REASON>'), false);
  assert.equal(html.includes('<DENY>'), false);
  assert.equal(count(html, /<\/style>/g), 1, "only the page's own style element closes");
  assert.ok(html.includes('&#60;script&#62;alert(&#34;s&#34;)&#60;/script&#62;&#39;&#38;'));
  assert.ok(html.includes('data-scenario="x&#34;&#62;&#60;img src=x onerror=alert(1)&#62;"'));
  // Every attribute value is quoted and holds no raw quote or angle bracket.
  for (const m of html.matchAll(/\s[a-z-]+="([^"]*)"/g)) assert.equal(/[<>]/.test(m[1]!), false, m[0]);
});
