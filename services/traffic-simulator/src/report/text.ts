/** The report for a terminal: aligned plain-text tables, PASS/FAIL per check (coloured only when asked). */

import { enforcementText } from './enforcement-text.ts';
import { formatCount, formatDuration, formatRatio, formatTime } from './format.ts';
import { ACTIONS, type Metric, type QualityCheck, type Report, type TimeToAction } from './model.ts';

export interface TextOptions {
  /** ANSI colours for PASS/FAIL (pass `process.stdout.isTTY`); default false. */
  readonly color?: boolean;
}

type Align = 'left' | 'right';

/** Strings from data, made harmless for a terminal: control characters (escape sequences) shown as \xNN. */
export function printable(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this replaces
  return s.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Columns padded to their widest cell, two spaces apart, indented by two. */
export function table(
  headers: readonly string[],
  body: readonly (readonly string[])[],
  align: readonly Align[],
): string[] {
  const cells = [headers, ...body].map((r) => r.map(printable));
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map(
    (r) =>
      `  ${r
        .map((c, i) => (align[i] === 'right' ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd()}`,
  );
}

const after = (t: TimeToAction | null): string => (t === null ? '-' : formatDuration(t.afterFirstMessageMs));

export function renderText(report: Report, options: TextOptions = {}): string {
  const paint = (code: number, s: string) => (options.color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const verdict = (passed: boolean) => (passed ? paint(32, 'PASS') : paint(31, 'FAIL'));
  const { score, run } = report;
  const out: string[] = [];
  const checks = (list: readonly QualityCheck[]) => {
    for (const c of list) {
      out.push(`  ${verdict(c.passed)}  ${printable(c.check)}`);
      out.push(`        ${printable(c.detail)}`);
    }
  };

  out.push('spamgate decision-quality report');
  out.push(
    `Run: seed ${run.seed}, event time ${formatTime(run.startedAt)} to ${formatTime(run.endedAt)} (${formatDuration(run.endedAt - run.startedAt)}), ` +
      `${formatCount(run.ratePerSecond)} messages/s, topic prefix ${run.topicPrefix === '' ? '(none)' : printable(run.topicPrefix)}`,
  );
  out.push(
    `Read from ClickHouse database ${printable(report.database)} at ${formatTime(report.generatedAt)}`,
  );
  out.push('');

  const passed = score.checks.filter((c) => c.passed).length;
  out.push(`Quality bar: ${verdict(score.passed)} (${passed} of ${score.checks.length} checks passed)`);
  checks(score.checks);
  if (score.advisories.length > 0) {
    out.push('');
    out.push('Also expected by the labels (not part of the quality bar):');
    checks(score.advisories);
  }
  out.push('');

  if (report.enforcement) {
    out.push(...enforcementText(report.enforcement, table));
    out.push('');
  }
  out.push(
    `Precision and recall, per sender (${formatCount(score.senders)} labelled senders, ${formatCount(score.spamSenders)} spam):`,
  );
  const metricRow = (name: string, m: Metric) => [
    name,
    formatCount(m.predicted),
    formatCount(m.truePositives),
    formatRatio(m.precision),
    formatRatio(m.recall),
  ];
  out.push(
    ...table(
      ['spam predicted by', 'senders', 'of them spam', 'precision', 'recall'],
      [metricRow('ever BLOCKed', score.block), metricRow('ever THROTTLEd or BLOCKed', score.throttleOrBlock)],
      ['left', 'right', 'right', 'right', 'right'],
    ),
  );
  if (score.unlabelled.senders > 0)
    out.push(
      `  ${formatCount(score.unlabelled.senders)} senders in ClickHouse are not in the labels (${formatCount(score.unlabelled.everBlocked)} of them BLOCKed); they are left out.`,
    );
  out.push('');

  out.push(
    'Senders per scenario: final action (in force at the end), and ever BLOCKed / THROTTLEd or BLOCKed:',
  );
  out.push(
    ...table(
      [
        'scenario',
        'kind',
        'senders',
        'evaluated',
        ...ACTIONS,
        'ever BLOCK',
        'ever THR|BLK',
        'messages (labels)',
        'counted',
      ],
      score.scenarios.map((s) => [
        s.id,
        s.spam ? 'spam' : 'legit',
        formatCount(s.senders),
        formatCount(s.evaluated),
        ...ACTIONS.map((a) => formatCount(s.final[a])),
        formatCount(s.everBlocked),
        formatCount(s.everThrottledOrBlocked),
        formatCount(s.labelledMessages),
        formatCount(s.observedMessages),
      ]),
      ['left', 'left', ...Array<Align>(11).fill('right')],
    ),
  );
  out.push('');

  out.push(
    "Time from a scenario's first message to its first action (event time; lag: decided_at after the evidence):",
  );
  out.push(
    ...table(
      ['scenario', 'first THR|BLK', 'first BLOCK', 'lag', 'per sender median', 'max'],
      score.scenarios.map((s) => [
        s.id,
        after(s.firstThrottleOrBlock),
        after(s.firstBlock),
        s.firstThrottleOrBlock === null ? '-' : formatDuration(s.firstThrottleOrBlock.decisionLagMs),
        s.senderTimeToAction === null ? '-' : formatDuration(s.senderTimeToAction.medianMs),
        s.senderTimeToAction === null ? '-' : formatDuration(s.senderTimeToAction.maxMs),
      ]),
      ['left', 'right', 'right', 'right', 'right', 'right'],
    ),
  );
  out.push('');

  out.push(`Top offenders (busiest senders by messages, from ClickHouse):`);
  if (report.offenders.length === 0) out.push('  no messages in sender_minute over the run');
  else
    out.push(
      ...table(
        [
          '#',
          'sender',
          'scenario',
          'messages',
          'with URL',
          'spam reports',
          'final',
          'strongest',
          'top reasons',
        ],
        report.offenders.map((o, i) => [
          String(i + 1),
          o.sender,
          o.scenarioId ?? '(unlabelled)',
          formatCount(o.messages),
          formatCount(o.urlMessages),
          formatCount(o.spamReports),
          o.finalAction,
          o.strongestAction,
          o.topReasons.map((r) => `${r.code} (${formatCount(r.evaluations)})`).join(', ') || '-',
        ]),
        ['right', 'left', 'left', 'right', 'right', 'right', 'left', 'left', 'left'],
      ),
    );
  out.push('');

  out.push(`Dead letters of the run's topics: ${formatCount(report.deadLetters.total)}`);
  if (report.deadLetters.byCause.length > 0)
    out.push(
      ...table(
        ['service', 'topic', 'error', 'records'],
        report.deadLetters.byCause.map((c) => [
          c.service,
          c.originalTopic,
          c.errorCode,
          formatCount(c.records),
        ]),
        ['left', 'left', 'left', 'right'],
      ),
    );
  return `${out.join('\n')}\n`;
}
