/**
 * `npx spamgate what-if --policy FILE --from TIME --to TIME`: replays the sender and cluster
 * features stored in ClickHouse for a time range through a policy file, in event-time order,
 * with the decider's memory (hysteresis, holds, expiry), and compares each sender's strongest
 * action with what the active policy decided over the same range (the `decisions` table,
 * shadow = 0).
 *
 * It compares policies: operator overrides and the Do-Not-Originate list apply on top of any
 * policy alike, so the replay leaves them out and compares the policy's own action
 * (policy_action) on both sides. The replay starts every sender afresh at --from.
 */
import { parseArgs } from 'node:util';
import {
  clusterFeaturesFromRows,
  clusterFeaturesQuery,
  type StoredRow,
  senderFeaturesFromRows,
  senderFeaturesQuery,
} from '@spamgate/clickhouse-sink';
import {
  type ClickHouseClient,
  commonSettings,
  createClickHouse,
  createLogger,
  loadConfig,
  parseDuration,
  sqlLiteral,
  sqlTable,
} from '@spamgate/core';
import { capOf, loadRegistrations, registrationsPath } from '@spamgate/feature-engine';
import type { Action, ClusterFeatures, Decision, SenderFeatures } from '@spamgate/schemas';
import { decisionEngineSettings } from './config.ts';
import { decide, dueAt, EMPTY_STATE, type SenderDecisionState } from './decider.ts';
import { ACTION_RANK, maxAction } from './evaluate.ts';
import { loadPolicy, type Policy } from './policy.ts';
import { UsageError } from './usage.ts';

const ACTIONS: readonly Action[] = ['ALLOW', 'MONITOR', 'THROTTLE', 'BLOCK'];
const HOUR_MS = 3_600_000;

/** "2026-11-29T10:00:00Z", "now", or "-2h" (before now; on the command line `--from=-2h`, since a value starting with a dash needs the `=`). */
export function parseTime(raw: string, now: number): number {
  if (raw === 'now') return now;
  if (raw.startsWith('-')) {
    const ms = parseDuration(raw.slice(1));
    if (ms !== undefined) return now - ms;
  }
  const t = Date.parse(raw);
  if (Number.isNaN(t))
    throw new UsageError(`"${raw}" is not a time (ISO 8601, "now", or "-2h" written --from=-2h)`);
  return t;
}

export interface SenderComparison {
  readonly sender: string;
  readonly enforced: Action;
  readonly candidate: Action;
  /** The candidate's reasons when it reached its strongest action. */
  readonly reasons: Decision['reasons'];
}

export interface WhatIfReport {
  readonly policyVersion: string;
  readonly fromMs: number;
  readonly toMs: number;
  readonly featureRecords: number;
  readonly clusterRecords: number;
  readonly senders: number;
  /** Senders per strongest action: as enforced, and under the candidate. */
  readonly enforced: Readonly<Record<Action, number>>;
  readonly candidate: Readonly<Record<Action, number>>;
  /** "ALLOW->BLOCK" -> senders. */
  readonly transitions: Readonly<Record<string, number>>;
  /** Senders whose strongest action differs, strongest candidate action first. */
  readonly changed: readonly SenderComparison[];
}

async function rows(client: ClickHouseClient, query: string): Promise<StoredRow[]> {
  const rs = await client.query({ query, format: 'JSONEachRow' });
  return (await rs.json()) as StoredRow[];
}

/** The strongest action the active policy took per sender, over evaluations based on the range. */
async function enforcedActions(client: ClickHouseClient, database: string, fromMs: number, toMs: number) {
  const query = `SELECT sender, max(multiIf(policy_action = 'BLOCK', 3, policy_action = 'THROTTLE', 2, policy_action = 'MONITOR', 1, 0)) AS rank
FROM ${sqlTable(database, 'decisions').text} FINAL
WHERE shadow = 0 AND based_on_event_time >= toDateTime(${Math.floor(fromMs / 1000)})
  AND based_on_event_time <= toDateTime(${Math.ceil(toMs / 1000)})
  AND based_on_event_ms >= ${Math.floor(fromMs)} AND based_on_event_ms < ${Math.ceil(toMs)}
  AND policy_action != ${sqlLiteral('')}
GROUP BY sender`;
  const out = new Map<string, Action>();
  for (const r of await rows(client, query)) out.set(String(r.sender), ACTIONS[Number(r.rank)] ?? 'ALLOW');
  return out;
}

/** Replays the range through `policy`; pure apart from the reads. */
export async function whatIf(
  client: ClickHouseClient,
  database: string,
  policy: Policy,
  capOfCampaign: (campaignId: string) => { perMinute?: number; perDay?: number } | undefined,
  fromMs: number,
  toMs: number,
): Promise<WhatIfReport> {
  const clusters = new Map<string, ClusterFeatures>();
  const states = new Map<string, SenderDecisionState>();
  const strongest = new Map<string, { action: Action; reasons: Decision['reasons'] }>();
  let featureRecords = 0;
  let clusterRecords = 0;
  // Clusters from an hour before, so the first senders see the clusters they belong to.
  for (const c of clusterFeaturesFromRows(
    await rows(client, clusterFeaturesQuery(database, { fromMs: fromMs - HOUR_MS, toMs: fromMs })),
  ))
    clusters.set(c.clusterId, c);
  // An hour of event time at a time, both kinds merged in asOf order.
  for (let a = fromMs; a < toMs; a += HOUR_MS) {
    const b = Math.min(toMs, a + HOUR_MS);
    const senders = senderFeaturesFromRows(
      await rows(client, senderFeaturesQuery(database, { fromMs: a, toMs: b })),
    );
    const cs = clusterFeaturesFromRows(
      await rows(client, clusterFeaturesQuery(database, { fromMs: a, toMs: b })),
    );
    featureRecords += senders.length;
    clusterRecords += cs.length;
    const events: ({ kind: 'sender'; f: SenderFeatures } | { kind: 'cluster'; c: ClusterFeatures })[] = [
      ...cs.map((c) => ({ kind: 'cluster' as const, c })),
      ...senders.map((f) => ({ kind: 'sender' as const, f })),
    ];
    // Stable: at equal times clusters first, as the engine usually knows them by then.
    events.sort(
      (x, y) => (x.kind === 'sender' ? x.f.asOf : x.c.asOf) - (y.kind === 'sender' ? y.f.asOf : y.c.asOf),
    );
    for (const e of events) {
      if (e.kind === 'cluster') {
        clusters.set(e.c.clusterId, e.c);
        continue;
      }
      const f = e.f;
      const ctx = {
        policy,
        cluster: (id: string) => clusters.get(id),
        content: () => undefined,
        capOf: capOfCampaign,
        override: undefined,
        doNotOriginate: false,
      };
      let state = states.get(f.sender) ?? EMPTY_STATE;
      const due = dueAt(state, policy);
      if (due !== null && due <= f.asOf)
        state = decide(ctx, f, state, { kind: 'EXPIRY', at: due, basis: String(due) }, due).state;
      const out = decide(ctx, f, state, { kind: 'FEATURES', at: f.asOf, basis: '' }, f.asOf);
      states.set(f.sender, out.state);
      const track = out.state.active!;
      const before = strongest.get(f.sender);
      if (!before || ACTION_RANK[track.action] > ACTION_RANK[before.action])
        strongest.set(f.sender, { action: track.action, reasons: [...track.reasons] });
    }
  }
  const enforcedBy = await enforcedActions(client, database, fromMs, toMs);
  const count = () => Object.fromEntries(ACTIONS.map((a) => [a, 0])) as Record<Action, number>;
  const enforced = count();
  const candidate = count();
  const transitions: Record<string, number> = {};
  const changed: SenderComparison[] = [];
  const everyone = new Set([...strongest.keys(), ...enforcedBy.keys()]);
  for (const sender of everyone) {
    const was = enforcedBy.get(sender) ?? 'ALLOW';
    const now = strongest.get(sender);
    const would = now?.action ?? 'ALLOW';
    enforced[was]++;
    candidate[would]++;
    if (was !== would) {
      const key = `${was}->${would}`;
      transitions[key] = (transitions[key] ?? 0) + 1;
      changed.push({ sender, enforced: was, candidate: would, reasons: now?.reasons ?? [] });
    }
  }
  changed.sort(
    (x, y) =>
      ACTION_RANK[maxAction(y.candidate, y.enforced)] - ACTION_RANK[maxAction(x.candidate, x.enforced)] ||
      x.sender.localeCompare(y.sender),
  );
  return {
    policyVersion: policy.version,
    fromMs,
    toMs,
    featureRecords,
    clusterRecords,
    senders: everyone.size,
    enforced,
    candidate,
    transitions,
    changed,
  };
}

export function formatReport(r: WhatIfReport, examples = 20): string[] {
  const n = (x: number) => x.toLocaleString('en-US');
  const lines = [
    `what-if: policy ${r.policyVersion} against what was enforced, ${new Date(r.fromMs).toISOString()} to ${new Date(r.toMs).toISOString()}`,
    `  replayed ${n(r.featureRecords)} feature records of ${n(r.senders)} senders and ${n(r.clusterRecords)} cluster records`,
    '',
    '  strongest action   enforced   candidate   change',
  ];
  for (const a of ACTIONS) {
    const d = r.candidate[a] - r.enforced[a];
    lines.push(
      `  ${a.padEnd(16)} ${n(r.enforced[a]).padStart(10)} ${n(r.candidate[a]).padStart(11)} ${(d > 0 ? `+${n(d)}` : d === 0 ? '0' : n(d)).padStart(8)}`,
    );
  }
  lines.push('', `  senders whose strongest action changes: ${n(r.changed.length)}`);
  for (const [k, v] of Object.entries(r.transitions).sort((a, b) => b[1] - a[1]))
    lines.push(`    ${k.replace('->', ' -> ').padEnd(22)} ${n(v).padStart(8)}`);
  if (r.changed.length > 0)
    lines.push('', `  examples (${Math.min(examples, r.changed.length)} of ${n(r.changed.length)}):`);
  for (const c of r.changed.slice(0, examples)) {
    const why = c.reasons
      .slice(0, 3)
      .map((x) =>
        x.feature === null
          ? x.code
          : `${x.code} ${x.feature}${x.window ? `(${x.window})` : ''}${x.observed === null ? '' : `=${+x.observed.toFixed(3)}`}`,
      )
      .join('; ');
    lines.push(`    ${c.sender.padEnd(16)} ${c.enforced} -> ${c.candidate}${why ? `  ${why}` : ''}`);
  }
  return lines;
}

export async function runWhatIf(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  out: (l: string) => void,
): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      policy: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string', default: 'now' },
      json: { type: 'boolean', default: false },
      examples: { type: 'string', default: '20' },
    },
    strict: true,
  });
  if (!values.policy || !values.from)
    throw new UsageError('usage: npx spamgate what-if --policy FILE --from TIME [--to TIME] [--json]');
  const now = Date.now();
  const fromMs = parseTime(values.from, now);
  const toMs = parseTime(values.to, now);
  if (toMs <= fromMs) throw new UsageError('--to must be after --from');
  const policy = loadPolicy(values.policy, '--policy');
  const config = loadConfig(
    {
      clickhouseUrl: commonSettings.clickhouseUrl,
      clickhouseUser: commonSettings.clickhouseUser,
      clickhousePassword: commonSettings.clickhousePassword,
      clickhouseDatabase: commonSettings.clickhouseDatabase,
      registrationsFile: decisionEngineSettings.registrationsFile,
    },
    env,
  );
  const registrations = loadRegistrations(registrationsPath(config));
  const logger = createLogger({
    service: 'spamgate-cli',
    instanceId: String(process.pid),
    level: 'warn',
    destination: process.stderr,
  });
  const client = createClickHouse({
    url: config.clickhouseUrl,
    username: config.clickhouseUser,
    password: config.clickhousePassword,
    database: config.clickhouseDatabase,
    logger,
    application: 'spamgate-what-if',
  });
  try {
    const report = await whatIf(
      client,
      config.clickhouseDatabase,
      policy,
      (c) => capOf(registrations, c),
      fromMs,
      toMs,
    );
    if (values.json) out(JSON.stringify(report));
    else for (const l of formatReport(report, Number(values.examples) || 20)) out(l);
    return 0;
  } finally {
    await client.close();
  }
}
