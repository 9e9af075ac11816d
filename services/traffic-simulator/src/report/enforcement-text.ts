/** The enforcement section of the text report (enforcement.ts has the figures, docs/report.md their definitions). */
import type { Enforcement } from './enforcement.ts';
import { formatCount, formatDuration, formatPercent } from './format.ts';

type Table = (
  headers: readonly string[],
  body: readonly (readonly string[])[],
  align: readonly ('left' | 'right')[],
) => string[];

export function enforcementText(e: Enforcement, table: Table): string[] {
  const out: string[] = [];
  const when =
    e.time === 'wall-clock'
      ? 'each message as sent, each decision in force from when it was published'
      : 'in event time (the run was not paced by the wall clock): each decision in force from its evidence';
  out.push(
    `Enforcement: ${formatCount(e.messages)} messages replayed through the reference firewall, ${when}.`,
  );
  if (!e.contentKeys)
    out.push('  The ledger has no content keys (no hash key): content decisions were not matched.');
  out.push(
    `  Spam delivered: ${formatPercent(e.spamDeliveredShare)} (${formatCount(e.spam.delivered)} of ${formatCount(e.spam.messages)}); ` +
      `legitimate stopped: ${formatPercent(e.legitimateStoppedShare)} (${formatCount(e.legitimate.messages - e.legitimate.delivered)} of ${formatCount(e.legitimate.messages)})`,
  );
  out.push(
    ...table(
      [
        'scenario',
        'kind',
        'messages',
        'delivered',
        'delivered %',
        'by content',
        'by BLOCK',
        'by THROTTLE',
        'to contacts',
      ],
      e.scenarios.map((s) => [
        s.id,
        s.spam ? 'spam' : 'legit',
        formatCount(s.messages),
        formatCount(s.delivered),
        formatPercent(s.deliveredShare),
        formatCount(s.stopped.CONTENT),
        formatCount(s.stopped.BLOCK),
        formatCount(s.stopped.THROTTLE),
        formatCount(s.toContacts),
      ]),
      ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
    ),
  );
  out.push(
    `  THROTTLEs in force for their sender's messages: ${formatCount(e.throttles)}; of them ${formatCount(e.nonBinding.length)} never stopped a message (did not bind).`,
  );
  if (e.nonBinding.length > 0)
    out.push(
      ...table(
        ['sender', 'scenario', 'messages under it'],
        e.nonBinding.slice(0, 10).map((t) => [t.sender, t.group, formatCount(t.messages)]),
        ['left', 'left', 'right'],
      ),
    );
  const blocks = e.contentDecisions.filter((c) => c.action === 'BLOCK');
  const lags = blocks.map((c) => c.lagMs).sort((a, b) => a - b);
  out.push(
    `  Content decisions: ${formatCount(e.contentDecisions.length)} (${formatCount(blocks.length)} BLOCK)` +
      (lags.length > 0 && e.time === 'wall-clock'
        ? `; evidence to content BLOCK median ${formatDuration(lags[Math.floor(lags.length / 2)]!)}, slowest ${formatDuration(lags.at(-1)!)}`
        : ''),
  );
  return out;
}
