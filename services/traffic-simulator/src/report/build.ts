import type { ClickHouseClient } from '@spamgate/core';
import type { Labels } from '../labels.ts';
import type { LedgerEntry } from '../ledger.ts';
import { collect } from './collect.ts';
import { collectEnforcement, type Enforcement } from './enforcement.ts';
import type { Observed, Report } from './model.ts';
import { type QualityBar, scoreRun } from './score.ts';

export interface BuildReportOptions {
  readonly labels: Labels;
  readonly clickhouse: ClickHouseClient;
  /** Database holding spamgate's tables. */
  readonly database: string;
  /** Busiest senders in the top offenders table; default 10. */
  readonly offenders?: number;
  /** Busiest senders charted, besides the busiest sender of each scenario; default 6. */
  readonly chartSenders?: number;
  /** Thresholds of the quality bar; default QUALITY_BAR (the issue's). */
  readonly bar?: QualityBar;
  /** Wall clock, for `generatedAt`; default Date.now. */
  readonly now?: () => number;
  /** The run's message ledger: with it the report replays enforcement (what the firewall let through). */
  readonly ledger?: readonly LedgerEntry[] | undefined;
}

/** Assembles a report from what was read (pure): scores it and labels the busiest senders with their scenarios. */
export function reportOf(
  labels: Labels,
  observed: Observed,
  options: {
    readonly database: string;
    readonly generatedAt: number;
    readonly bar?: QualityBar | undefined;
    readonly enforcement?: Enforcement | null;
  },
): Report {
  const scenarioOf = new Map<string, { scenarioId: string; spam: boolean }>();
  for (const s of labels.scenarios)
    for (const l of s.senders)
      if (!scenarioOf.has(l.sender)) scenarioOf.set(l.sender, { scenarioId: s.id, spam: s.spam });
  const tag = (sender: string) => scenarioOf.get(sender) ?? { scenarioId: null, spam: null };
  const messages = new Map(observed.senders.map((s) => [s.sender, s.messages]));
  return {
    version: 1,
    generatedAt: options.generatedAt,
    database: options.database,
    run: {
      seed: labels.seed,
      startedAt: labels.startedAt,
      endedAt: labels.endedAt,
      ratePerSecond: labels.ratePerSecond,
      topicPrefix: labels.topicPrefix,
    },
    score: scoreRun(labels, observed.senders, options.bar, options.enforcement ?? null),
    offenders: observed.offenders.map((o) => ({ ...o, ...tag(o.sender) })),
    timelines: observed.timelines.map((t) => ({
      ...t,
      ...tag(t.sender),
      messagesTotal: messages.get(t.sender) ?? 0,
    })),
    deadLetters: observed.deadLetters,
    enforcement: options.enforcement ?? null,
  };
}

/** Reads the run's outcome from ClickHouse and scores it against the labels. */
export async function buildReport(options: BuildReportOptions): Promise<Report> {
  const observed = await collect(options);
  const enforcement = options.ledger
    ? await collectEnforcement({
        clickhouse: options.clickhouse,
        database: options.database,
        labels: options.labels,
        ledger: options.ledger,
      })
    : null;
  return reportOf(options.labels, observed, {
    database: options.database,
    generatedAt: (options.now ?? Date.now)(),
    bar: options.bar,
    enforcement,
  });
}
