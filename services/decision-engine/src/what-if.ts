/**
 * `npx spamgate what-if --policy FILE --from TIME --to TIME [--labels FILE]`: replays the sender
 * and cluster features stored in ClickHouse through a candidate policy with the engine's own
 * partition decider, and compares it with what was enforced: each sender's strongest action, and
 * what the firewall would let through of the range's messages (spam delivered and legitimate
 * stopped when a simulator labels file says which is which). Operator overrides and the
 * Do-Not-Originate list apply to every policy alike, so the replay leaves them out; it starts
 * every sender afresh at --from. docs/policy.md, "Shadow policies and what-if".
 */

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  type ClickHouseClient,
  type ContentDecisionView,
  clickhousePasswordOf,
  commonSettings,
  createClickHouse,
  createEnforcementTally,
  createLogger,
  loadConfig,
  NO_CONTENT_KEYS,
  parseDuration,
  replayEnforcement,
  type SenderDecisionView,
  type StoppedBy,
  sqlLiteral,
  sqlTable,
  type Timed,
} from '@spamgate/core';
import {
  type Action,
  type ClusterFeatures,
  capOf,
  clusterFeaturesFromRows,
  clusterFeaturesQuery,
  createCodec,
  type Decision,
  loadRegistrations,
  registrationsPath,
  type SenderFeatures,
  type StoredRow,
  senderFeaturesFromRows,
  senderFeaturesQuery,
} from '@spamgate/schemas';
import { createGroupIndex } from './cluster-groups.ts';
import { clusterSignature } from './cluster-signature.ts';
import { decisionEngineSettings } from './config.ts';
import { ACTION_RANK, type CapOf, type ContentInForce, contentInForce, maxAction } from './evaluate.ts';
import { createPartitionDecider, standaloneTables } from './partition-decider.ts';
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
  /** What the firewall would let through: as enforced, and under the candidate. */
  readonly enforcement: { readonly enforced: WhatIfEnforcement; readonly candidate: WhatIfEnforcement };
}

/**
 * Messages of the range (sender_minute) replayed through the reference firewall at minute
 * resolution: a minute's messages spread evenly over it, each to a new contact (the table keeps
 * no recipients), content decisions acting through the sender decisions they cause (it keeps no
 * content either). With labels, spam delivered and legitimate stopped.
 */
export interface WhatIfEnforcement {
  readonly messages: number;
  readonly stopped: Readonly<Record<StoppedBy, number>>;
  readonly spamDeliveredShare: number | null;
  readonly legitimateStoppedShare: number | null;
  /** Per scenario of the labels ('unlabelled' for the rest): messages and delivered. */
  readonly scenarios: Readonly<Record<string, { readonly messages: number; readonly delivered: number }>>;
}

interface MinuteCount {
  readonly sender: string;
  readonly minuteMs: number;
  readonly messages: number;
}

/** Messages per sender and minute over the range, in minute order. */
async function sentPerMinute(client: ClickHouseClient, database: string, fromMs: number, toMs: number) {
  const query = `SELECT sender, toUInt32(minute) AS minute_s, sum(messages) AS messages
FROM ${sqlTable(database, 'sender_minute').text} FINAL
WHERE minute >= toDateTime(${Math.floor(fromMs / 60_000) * 60}) AND minute < toDateTime(${Math.ceil(toMs / 1000)})
GROUP BY sender, minute_s
ORDER BY minute_s, sender`;
  return (await rows(client, query)).map(
    (r): MinuteCount => ({
      sender: String(r.sender),
      minuteMs: Number(r.minute_s) * 1000,
      messages: Number(r.messages),
    }),
  );
}

/** The decisions published over the range as enforced, in force from their evidence (event time, as the replay). */
async function enforcedDecisions(
  client: ClickHouseClient,
  database: string,
  fromMs: number,
  toMs: number,
): Promise<[Timed<SenderDecisionView>[], Timed<ContentDecisionView>[]]> {
  const range = `based_on_event_time >= toDateTime(${Math.floor(fromMs / 1000) - 86_400}) AND based_on_event_time <= toDateTime(${Math.ceil(toMs / 1000)})`;
  const senders = await rows(
    client,
    `SELECT decision_id, sender, action, throttle_rate_per_minute, throttle_rate_per_hour, throttle_scope, toUInt32(expires_at) AS expires_s, based_on_event_ms
FROM ${sqlTable(database, 'decisions').text} FINAL
WHERE shadow = 0 AND published = 1 AND ${range}
ORDER BY based_on_event_ms, decision_id`,
  );
  const contents = await rows(
    client,
    `SELECT decision_id, cluster_id, action, url_domains, callback_numbers, override_id, expires_at_ms, based_on_event_ms
FROM ${sqlTable(database, 'content_decisions').text} FINAL
WHERE ${range}
ORDER BY based_on_event_ms, decision_id`,
  );
  const strings = (v: unknown) => (Array.isArray(v) ? v.map(String) : []);
  return [
    senders.map((r) => ({
      inForceAt: Number(r.based_on_event_ms),
      decision: {
        decisionId: String(r.decision_id),
        sender: String(r.sender),
        action: String(r.action),
        throttleRatePerMinute:
          Number(r.throttle_rate_per_minute) > 0 ? Number(r.throttle_rate_per_minute) : null,
        throttleRatePerHour: r.throttle_rate_per_hour === null ? null : Number(r.throttle_rate_per_hour),
        throttleScope: String(r.throttle_scope || 'ALL_RECIPIENTS'),
        expiresAt: Number(r.expires_s) > 0 ? Number(r.expires_s) * 1000 : null,
      },
    })),
    contents.map((r) => ({
      inForceAt: Number(r.based_on_event_ms),
      decision: {
        decisionId: String(r.decision_id),
        clusterId: String(r.cluster_id),
        action: String(r.action),
        urlDomains: strings(r.url_domains),
        callbackNumbers: strings(r.callback_numbers),
        expiresAt: Number(r.expires_at_ms) > 0 ? Number(r.expires_at_ms) : null,
        overrideId: String(r.override_id ?? '') || null,
      },
    })),
  ];
}

/** Replays minute counts against decisions (see WhatIfEnforcement). */
export function enforcementOfMinutes(
  minutes: readonly MinuteCount[],
  senderDecisions: readonly Timed<SenderDecisionView>[],
  contentDecisions: readonly Timed<ContentDecisionView>[],
  labels?: ReadonlyMap<string, { scenario: string; spam: boolean }>,
): WhatIfEnforcement {
  const messages: { time: number; sender: string; recipient: string; content: typeof NO_CONTENT_KEYS }[] = [];
  let n = 0;
  for (const m of minutes)
    for (let i = 0; i < m.messages; i++)
      messages.push({
        time: m.minuteMs + Math.floor(((i + 0.5) * 60_000) / m.messages),
        sender: m.sender,
        recipient: `whatif-${n++}`,
        content: NO_CONTENT_KEYS,
      });
  messages.sort((a, b) => a.time - b.time);
  const tally = createEnforcementTally();
  for (const { message, verdict } of replayEnforcement({ messages, senderDecisions, contentDecisions })) {
    const label = labels?.get(message.sender);
    tally.record(
      { sender: message.sender, group: label?.scenario ?? 'unlabelled', spam: label?.spam ?? false },
      verdict,
    );
  }
  const f = tally.figures();
  const stopped = { CONTENT: 0, BLOCK: 0, THROTTLE: 0 };
  const scenarios: Record<string, { messages: number; delivered: number }> = {};
  for (const [id, g] of f.groups) {
    for (const k of Object.keys(stopped) as StoppedBy[]) stopped[k] += g.stopped[k];
    scenarios[id] = { messages: g.messages, delivered: g.delivered };
  }
  return {
    messages: messages.length,
    stopped,
    spamDeliveredShare: labels ? f.spamDeliveredShare : null,
    legitimateStoppedShare: labels ? f.legitimateStoppedShare : null,
    scenarios,
  };
}

/** A simulator labels file's senders (services/traffic-simulator labels.ts): sender -> scenario and ground truth. */
export function readLabelsFile(path: string): Map<string, { scenario: string; spam: boolean }> {
  let doc: { scenarios?: { id?: unknown; spam?: unknown; senders?: { sender?: unknown }[] }[] };
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new UsageError(`--labels ${path}: not a readable JSON labels file (${(err as Error).message})`);
  }
  if (!Array.isArray(doc.scenarios)) throw new UsageError(`--labels ${path}: no scenarios`);
  const out = new Map<string, { scenario: string; spam: boolean }>();
  for (const s of doc.scenarios)
    for (const l of s.senders ?? [])
      if (typeof l.sender === 'string') out.set(l.sender, { scenario: String(s.id), spam: s.spam === true });
  return out;
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

/** What the candidate decided over the range: strongest policy action per sender, and what it published. */
interface Replay {
  readonly strongest: Map<string, { action: Action; reasons: Decision['reasons'] }>;
  readonly decisions: Timed<SenderDecisionView>[];
  readonly contentDecisions: Timed<ContentDecisionView>[];
  featureRecords: number;
  clusterRecords: number;
}

/**
 * Runs the range's features through one partition decider under `policy`, in event-time order:
 * sender decisions, content decisions (it owns every cluster) and their effect on senders, with
 * the decider's memory. Operator overrides and the Do-Not-Originate list are left out.
 */
async function replay(
  client: ClickHouseClient,
  database: string,
  policy: Policy,
  capOfCampaign: CapOf,
  fromMs: number,
  toMs: number,
): Promise<Replay> {
  const codec = createCodec();
  const clusters = new Map<string, ClusterFeatures>();
  const groups = createGroupIndex((id) => clusters.get(id));
  const contents = new Map<string, ContentInForce>();
  const signatures = new Map<string, string>();
  const decider = createPartitionDecider(
    0,
    standaloneTables({
      policy,
      cluster: (id) => clusters.get(id),
      content: (id) => contents.get(id),
      groups,
      capOf: capOfCampaign,
      decodeFeatures: (raw) => codec.decode('SenderFeatures', Buffer.from(raw)),
    }),
  );
  const out: Replay = {
    strongest: new Map(),
    decisions: [],
    contentDecisions: [],
    featureRecords: 0,
    clusterRecords: 0,
  };
  const collect = (at: number) => {
    const taken = decider.take();
    for (const d of taken.evaluations) {
      const action = d.policyAction ?? d.action;
      const before = out.strongest.get(d.sender);
      if (!before || ACTION_RANK[action] > ACTION_RANK[before.action])
        out.strongest.set(d.sender, { action, reasons: [...d.reasons] });
    }
    for (const d of taken.decisions) out.decisions.push({ inForceAt: at, decision: d });
    for (const d of taken.contentDecisions) {
      out.contentDecisions.push({ inForceAt: at, decision: d });
      contents.set(d.clusterId, contentInForce(d, policy));
      decider.contentUpdated(d.clusterId, d.basedOnEventTime, at);
    }
    if (taken.contentDecisions.length > 0) collect(at);
  };
  // Clusters from an hour before, so the first senders see the clusters they belong to.
  for (const c of clusterFeaturesFromRows(
    await rows(client, clusterFeaturesQuery(database, { fromMs: fromMs - HOUR_MS, toMs: fromMs })),
  )) {
    clusters.set(c.clusterId, c);
    groups.put(c);
  }
  // An hour of event time at a time, both kinds merged in asOf order.
  for (let a = fromMs; a < toMs; a += HOUR_MS) {
    const b = Math.min(toMs, a + HOUR_MS);
    const senders = senderFeaturesFromRows(
      await rows(client, senderFeaturesQuery(database, { fromMs: a, toMs: b })),
    );
    const cs = clusterFeaturesFromRows(
      await rows(client, clusterFeaturesQuery(database, { fromMs: a, toMs: b })),
    );
    out.featureRecords += senders.length;
    out.clusterRecords += cs.length;
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
        groups.put(e.c);
        const sig = clusterSignature(policy, e.c);
        const changed = signatures.get(e.c.clusterId) !== sig;
        signatures.set(e.c.clusterId, sig);
        decider.clusterUpdated(e.c, changed, true, e.c.asOf);
        collect(e.c.asOf);
      } else {
        decider.features(e.f, codec.encode('SenderFeatures', e.f), e.f.asOf);
        collect(e.f.asOf);
      }
    }
  }
  decider.advanceClock(toMs, toMs);
  collect(toMs);
  return out;
}

/** Replays the range through `policy`; pure apart from the reads. */
export async function whatIf(
  client: ClickHouseClient,
  database: string,
  policy: Policy,
  capOfCampaign: CapOf,
  fromMs: number,
  toMs: number,
  labels?: ReadonlyMap<string, { scenario: string; spam: boolean }>,
): Promise<WhatIfReport> {
  const r = await replay(client, database, policy, capOfCampaign, fromMs, toMs);
  const { strongest, featureRecords, clusterRecords } = r;
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
  const minutes = await sentPerMinute(client, database, fromMs, toMs);
  const [enforcedSenders, enforcedContent] = await enforcedDecisions(client, database, fromMs, toMs);
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
    enforcement: {
      enforced: enforcementOfMinutes(minutes, enforcedSenders, enforcedContent, labels),
      candidate: enforcementOfMinutes(minutes, r.decisions, r.contentDecisions, labels),
    },
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
  const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(x < 0.01 ? 3 : 1)} %`);
  const en = r.enforcement;
  lines.push(
    '',
    `  what the firewall would let through (${n(en.enforced.messages)} messages, minute resolution, every recipient a new contact):`,
    '                      enforced   candidate',
    `  stopped by BLOCK  ${n(en.enforced.stopped.BLOCK).padStart(10)} ${n(en.candidate.stopped.BLOCK).padStart(11)}`,
    `  stopped by THROTTLE ${n(en.enforced.stopped.THROTTLE).padStart(8)} ${n(en.candidate.stopped.THROTTLE).padStart(11)}`,
  );
  if (en.enforced.spamDeliveredShare !== null)
    lines.push(
      `  spam delivered    ${pct(en.enforced.spamDeliveredShare).padStart(10)} ${pct(en.candidate.spamDeliveredShare).padStart(11)}`,
      `  legit stopped     ${pct(en.enforced.legitimateStoppedShare).padStart(10)} ${pct(en.candidate.legitimateStoppedShare).padStart(11)}`,
    );
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
      labels: { type: 'string' },
    },
    strict: true,
  });
  if (!values.policy || !values.from)
    throw new UsageError(
      'usage: npx spamgate what-if --policy FILE --from TIME [--to TIME] [--labels FILE] [--json]',
    );
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
      clickhousePasswordFile: commonSettings.clickhousePasswordFile,
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
    password: clickhousePasswordOf(config),
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
      values.labels ? readLabelsFile(values.labels) : undefined,
    );
    if (values.json) out(JSON.stringify(report));
    else for (const l of formatReport(report, Number(values.examples) || 20)) out(l);
    return 0;
  } finally {
    await client.close();
  }
}
