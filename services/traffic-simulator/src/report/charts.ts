/**
 * Inline SVG charts for the HTML report, drawn here (no script, no library, nothing fetched).
 * Every string from data goes through escapeHtml. Elements the test counts carry classes:
 * `bar` (a scenario's segment), `series` (a sender's line), `change` (a decision change marker).
 */
import { formatClock, formatCount, formatDuration } from './format.ts';
import { ACTIONS, type Action, type ScenarioScore, type TimelineRow } from './model.ts';

/** Okabe-Ito colours: told apart by colour-blind readers too; the legend also names them. */
export const ACTION_COLOURS: Readonly<Record<Action, string>> = {
  ALLOW: '#a9b4be',
  MONITOR: '#56b4e9',
  THROTTLE: '#e69f00',
  BLOCK: '#d55e00',
};

/** Text for HTML (and SVG in HTML), element content and quoted attributes alike. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const px = (n: number): string => (Math.round(n * 10) / 10).toString();

/** A round step (1, 2 or 5 times a power of ten) near `raw`. */
function niceStep(raw: number): number {
  if (raw <= 1) return 1;
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}\u2026`;
}

function legend(x: number, y: number): string {
  return ACTIONS.map((a, i) => {
    const lx = x + i * 110;
    return `<g class="legend-item"><rect x="${lx}" y="${y - 10}" width="12" height="12" fill="${ACTION_COLOURS[a]}"/><text x="${lx + 17}" y="${y}" class="legend">${a}</text></g>`;
  }).join('');
}

/**
 * 100% stacked horizontal bars: each scenario's senders by the strongest action each ever got.
 * Shares, not counts: scenarios differ in size by orders of magnitude; the count is at the end.
 */
export function scenarioActionsChart(scenarios: readonly ScenarioScore[]): string {
  const width = 860;
  const left = 270;
  const right = 90;
  const top = 44;
  const row = 28;
  const plot = width - left - right;
  const height = top + scenarios.length * row + 50;
  const parts: string[] = [];
  parts.push(legend(left, 20));
  for (const tick of [0, 25, 50, 75, 100]) {
    const x = left + (plot * tick) / 100;
    parts.push(
      `<line x1="${px(x)}" y1="${top - 4}" x2="${px(x)}" y2="${top + scenarios.length * row}" class="grid"/>`,
      `<text x="${px(x)}" y="${top + scenarios.length * row + 16}" class="tick" text-anchor="middle">${tick}%</text>`,
    );
  }
  parts.push(
    `<text x="${left + plot / 2}" y="${height - 8}" class="axis-label" text-anchor="middle">share of the scenario's senders, by the strongest action each ever got</text>`,
  );
  scenarios.forEach((s, i) => {
    const y = top + i * row;
    const kind = s.spam ? 'spam' : 'legit';
    parts.push(
      `<g class="scenario" data-scenario="${escapeHtml(s.id)}"><title>${escapeHtml(`${s.id}: ${s.title} (${kind})`)}</title>` +
        `<text x="${left - 10}" y="${y + row / 2 + 4}" class="label" text-anchor="end">${escapeHtml(truncate(s.id, 30))} <tspan class="${kind}">${kind}</tspan></text></g>`,
    );
    let x = left;
    for (const a of ACTIONS) {
      const n = s.strongest[a];
      if (n === 0 || s.senders === 0) continue;
      const w = (plot * n) / s.senders;
      parts.push(
        `<rect class="bar" data-action="${a}" x="${px(x)}" y="${y + 4}" width="${px(Math.max(w, 0.5))}" height="${row - 8}" fill="${ACTION_COLOURS[a]}">` +
          `<title>${escapeHtml(`${s.id}: ${a} ${formatCount(n)} of ${formatCount(s.senders)} senders (${((100 * n) / s.senders).toFixed(1)}%)`)}</title></rect>`,
      );
      x += w;
    }
    parts.push(
      `<text x="${left + plot + 8}" y="${y + row / 2 + 4}" class="count">${formatCount(s.senders)} sender${s.senders === 1 ? '' : 's'}</text>`,
    );
  });
  return (
    `<svg class="chart" data-chart="scenario-actions" role="img" aria-labelledby="chart-scenarios-title chart-scenarios-desc" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg">` +
    `<title id="chart-scenarios-title">Strongest action per sender, by scenario</title>` +
    `<desc id="chart-scenarios-desc">For each of ${scenarios.length} scenarios, the share of its senders whose strongest action was ALLOW, MONITOR, THROTTLE or BLOCK.</desc>` +
    `${parts.join('')}</svg>`
  );
}

/**
 * Messages per minute of one sender over the run (event time), with a marker at each change of
 * the action in force and the periods it was THROTTLEd or BLOCKed tinted.
 */
export function timelineChart(t: TimelineRow, index: number): string {
  const width = 560;
  const height = 230;
  const m = { left: 52, right: 14, top: 34, bottom: 44 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const first = t.minutes[0]?.minuteMs ?? 0;
  const start = first;
  const end = (t.minutes.at(-1)?.minuteMs ?? first) + 60_000;
  const xOf = (ms: number) => m.left + (plotW * (Math.min(Math.max(ms, start), end) - start)) / (end - start);
  const peak = Math.max(1, ...t.minutes.map((p) => p.messages));
  const yStep = niceStep(peak / 4);
  const yMax = Math.ceil(peak / yStep) * yStep;
  const yOf = (v: number) => m.top + plotH - (plotH * v) / yMax;
  const parts: string[] = [];
  const id = `timeline-${index}`;

  // Periods under THROTTLE or BLOCK, behind everything.
  t.changes.forEach((c, i) => {
    if (c.to !== 'THROTTLE' && c.to !== 'BLOCK') return;
    const until = t.changes[i + 1]?.atMs ?? end;
    const x1 = xOf(c.atMs);
    parts.push(
      `<rect class="in-force" data-action="${c.to}" x="${px(x1)}" y="${m.top}" width="${px(Math.max(xOf(until) - x1, 0))}" height="${plotH}" fill="${ACTION_COLOURS[c.to]}" fill-opacity="0.13"/>`,
    );
  });
  for (let v = 0; v <= yMax; v += yStep) {
    const y = yOf(v);
    parts.push(
      `<line x1="${m.left}" y1="${px(y)}" x2="${m.left + plotW}" y2="${px(y)}" class="grid"/>`,
      `<text x="${m.left - 6}" y="${px(y + 4)}" class="tick" text-anchor="end">${formatCount(v)}</text>`,
    );
  }
  const minutes = (end - start) / 60_000;
  const xStepMin = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440].find((s) => minutes / s <= 6) ?? 1440;
  const firstTick = Math.ceil(start / (xStepMin * 60_000)) * xStepMin * 60_000;
  for (let ms = firstTick; ms <= end; ms += xStepMin * 60_000) {
    const x = xOf(ms);
    parts.push(
      `<line x1="${px(x)}" y1="${m.top + plotH}" x2="${px(x)}" y2="${m.top + plotH + 4}" class="axis"/>`,
      `<text x="${px(x)}" y="${m.top + plotH + 16}" class="tick" text-anchor="middle">${formatClock(ms)}</text>`,
    );
  }
  parts.push(
    `<line x1="${m.left}" y1="${m.top + plotH}" x2="${m.left + plotW}" y2="${m.top + plotH}" class="axis"/>`,
    `<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${m.top + plotH}" class="axis"/>`,
    `<text x="${m.left + plotW / 2}" y="${height - 6}" class="axis-label" text-anchor="middle">event time (UTC), minutes</text>`,
    `<text x="14" y="${m.top + plotH / 2}" class="axis-label" text-anchor="middle" transform="rotate(-90 14 ${m.top + plotH / 2})">messages / min</text>`,
  );
  // Each minute's count drawn at the middle of its minute.
  const d = t.minutes
    .map((p, i) => `${i === 0 ? 'M' : 'L'}${px(xOf(p.minuteMs + 30_000))},${px(yOf(p.messages))}`)
    .join(' ');
  parts.push(
    `<path class="series" d="${d}" fill="none" stroke="#1f4e79" stroke-width="2" stroke-linejoin="round"/>`,
  );
  if (t.minutes.length === 1) {
    const p = t.minutes[0]!;
    parts.push(
      `<circle cx="${px(xOf(p.minuteMs + 30_000))}" cy="${px(yOf(p.messages))}" r="3" fill="#1f4e79"/>`,
    );
  }
  t.changes.forEach((c, i) => {
    const x = xOf(c.atMs);
    // Labels of changes close together alternate between two heights.
    const ly = i % 2 === 0 ? m.top - 18 : m.top - 6;
    const anchor = x > m.left + plotW - 60 ? 'end' : x < m.left + 60 ? 'start' : 'middle';
    const what = `${c.from} \u2192 ${c.to} at ${formatClock(c.atMs, true)} (event time; decided ${formatDuration(c.decidedAtMs - c.atMs)} later), trigger ${c.trigger}${c.reasons.length > 0 ? `, reasons ${c.reasons.join(', ')}` : ''}`;
    parts.push(
      `<g class="change" data-action="${c.to}"><title>${escapeHtml(what)}</title>` +
        `<line x1="${px(x)}" y1="${ly + 3}" x2="${px(x)}" y2="${m.top + plotH}" stroke="${ACTION_COLOURS[c.to]}" stroke-width="2" stroke-dasharray="4 3"/>` +
        `<text x="${px(x)}" y="${ly}" class="marker" text-anchor="${anchor}" fill="${c.to === 'ALLOW' ? '#4b5563' : ACTION_COLOURS[c.to]}">${c.to}</text></g>`,
    );
  });
  const who = `${t.sender}${t.scenarioId === null ? ' (unlabelled)' : ` (${t.scenarioId})`}`;
  return (
    `<svg class="chart" data-chart="timeline" data-sender="${escapeHtml(t.sender)}" role="img" aria-labelledby="${id}-title ${id}-desc" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg">` +
    `<title id="${id}-title">${escapeHtml(`Messages per minute of ${who}`)}</title>` +
    `<desc id="${id}-desc">${escapeHtml(
      t.changes.length === 0
        ? 'The action in force never changed.'
        : `Action changes: ${t.changes.map((c) => `${c.to} at ${formatClock(c.atMs, true)}`).join('; ')}.`,
    )}</desc>${parts.join('')}</svg>`
  );
}
