/**
 * Everything the decision engine does for one partition of sms.sender-features, without I/O: its
 * senders' state, the content clusters it owns, what is due when, and one clock. The Kafka shell
 * (engine.ts) and the in-process sweep both drive it. ARCHITECTURE.md, "The decision engine".
 *
 * One clock: every time this decider compares (BLOCK and THROTTLE holds, expiries, re-issues,
 * override lapses) is event time, the newest its inputs carried; the shell moves it on with the
 * wall clock only while the partition is idle. So a backlog or a replay gets the decisions live
 * traffic got, and nothing lapses because the wall clock ran ahead of old evidence.
 */
import type { ClusterFeatures, ContentDecision, Decision, SenderFeatures } from '@spamgate/schemas';
import type { ClusterGroup, GroupIndex } from './cluster-groups.ts';
import {
  type ContentOverrideView,
  type ContentState,
  contentDueAt,
  decideContent,
} from './content-decider.ts';
import {
  type ActiveOverride,
  type DecideContext,
  decide,
  dueAt,
  EMPTY_STATE,
  type Trigger,
} from './decider.ts';
import { createDueQueue } from './due-queue.ts';
import type { CapOf, ContentInForce } from './evaluate.ts';
import type { Policy } from './policy.ts';
import {
  CLOCK_KEY,
  CONTENT_KEY_PREFIX,
  decodeClock,
  decodeContentState,
  decodeEntry,
  encodeClock,
  encodeContentState,
  encodeEntry,
  type SenderEntry,
} from './state.ts';

/**
 * A sender whose latest features are this much older than the partition's clock is forgotten
 * (its state tombstoned) when nothing but ALLOW is in force for it: its features left
 * sms.sender-features (7 days' retention) a day before, and its windows (24 h at most) emptied
 * long before that. Its last decision stays on sms.decisions; new features start it afresh.
 */
export const SENDER_IDLE_TTL_MS = 8 * 86_400_000;
/** How often, in the partition's event time, idle senders are looked for. */
const IDLE_SWEEP_MS = 3_600_000;

/** What every partition reads of the instance's tables and configuration (all may change at any time). */
export interface DeciderTables {
  readonly policy: () => Policy;
  readonly shadowPolicy: () => Policy | undefined;
  /** Latest features of a content cluster. */
  readonly cluster: (clusterId: string) => ClusterFeatures | undefined;
  /** The content decision published for a cluster (sms.content-decisions). */
  readonly content: (clusterId: string) => ContentInForce | undefined;
  /** The clusters linking to a link domain, summed at event time `at` (cluster-groups.ts). */
  readonly domainGroup: (domain: string, at: number) => ClusterGroup | undefined;
  /** The clusters the numbers sending `c` send too, summed at event time `at` (cluster-groups.ts). */
  readonly crewGroup: (c: ClusterFeatures, at: number) => ClusterGroup | undefined;
  /** The operator override of a sender (its own, else its campaign's) in force at `at`. */
  readonly senderOverride: (
    sender: string,
    campaignId: string | null,
    at: number,
  ) => ActiveOverride | undefined;
  /** Every sender override held, for lapses and reconciliation. */
  readonly senderOverrides: () => readonly ActiveOverride[];
  /** The CLUSTER content override of a cluster in force at `at`. */
  readonly clusterOverride: (clusterId: string, at: number) => ContentOverrideView | undefined;
  /** Every content override held, for lapses. */
  readonly contentOverrides: () => readonly ContentOverrideView[];
  /** Whether an operator allowed (DOMAIN ALLOW) a URL domain at `at`. */
  readonly domainAllowed: (domain: string, at: number) => boolean;
  /** Whether an operator blocked (DOMAIN BLOCK) a URL domain at `at`: senders linking to it are blocked. */
  readonly domainBlocked: (domain: string, at: number) => boolean;
  readonly doNotOriginate: (sender: string) => boolean;
  readonly capOf: CapOf;
  /** Decodes features as held (the entry keeps them as received). */
  readonly decodeFeatures: (raw: Uint8Array) => SenderFeatures;
}

export interface DeciderOutput {
  /** Every evaluation, active and shadow (sms.decision-evaluations). */
  readonly evaluations: Decision[];
  /** The evaluations that change what is in force (sms.decisions). */
  readonly decisions: Decision[];
  readonly contentDecisions: ContentDecision[];
  /** Changelog records: senders by address, owned clusters by CONTENT_KEY_PREFIX + id, the clock; null deletes. */
  readonly changelog: { readonly key: string; readonly value: Uint8Array | null }[];
}

export interface PartitionDecider {
  readonly partition: number;
  /** Event time this partition is at: the newest its inputs carried, moved on by advanceClock. */
  readonly clock: number;
  readonly senderCount: number;
  readonly contentCount: number;
  /** New features of a sender of this partition (checked by the caller). */
  features(f: SenderFeatures, raw: Uint8Array, decidedAt: number): void;
  /**
   * A content cluster's features changed: re-evaluates the senders naming it when its evidence
   * changed for the sender rules, and decides its content decision when this partition owns it.
   */
  clusterUpdated(c: ClusterFeatures, evidenceChanged: boolean, owned: boolean, decidedAt: number): void;
  /** The content decision published for a cluster changed: re-evaluates the senders naming it. */
  contentUpdated(clusterId: string, at: number, decidedAt: number): void;
  /**
   * A sender override was set, replaced, removed or lapsed. `create`: an operator BLOCK of a
   * sender this partition has never seen is decided at once (when the sender belongs here).
   */
  overrideUpdated(
    o: Pick<ActiveOverride, 'scope' | 'target' | 'action'>,
    basis: string,
    decidedAt: number,
    createIfMine?: boolean,
  ): void;
  /** A content override changed: re-decides the owned clusters it names (by id, or by a domain they link to). */
  contentOverrideUpdated(
    o: Pick<ContentOverrideView, 'scope' | 'target'>,
    basis: string,
    decidedAt: number,
  ): void;
  /** Re-evaluates the named senders (all when omitted), e.g. after the Do-Not-Originate list changed. */
  reevaluate(kind: 'LIST' | 'OVERRIDE', senders: Iterable<string> | undefined, decidedAt: number): void;
  /** Moves the clock to `t` if it is behind, and runs what fell due. */
  advanceClock(t: number, decidedAt: number): void;
  /**
   * Re-evaluates the senders whose standing decision no longer matches the overrides and the list
   * (they changed while nobody owned the partition); `mine` tells which unseen senders belong here.
   */
  reconcile(mine: (sender: string) => boolean, decidedAt: number): void;
  /** Whether take() has anything to hand over. */
  pending(): boolean;
  /** What was decided since the last call. */
  take(): DeciderOutput;
  /** Restores one changelog record (before any input). */
  restore(key: string, value: Uint8Array): void;
  /**
   * Forgets the least recently active senders that nothing but ALLOW is in force for
   * (their state tombstoned) until at most `maxSenders` are held, or none is left to forget;
   * returns how many it forgot. The instance's memory budget, shared among its partitions.
   */
  shed(maxSenders: number): number;
  /** The senders held and the cluster ids their latest features name. */
  hasSender(sender: string): boolean;
}

/** The features of a sender known only from an operator override or the list: nothing seen. */
function noFeatures(sender: string, at: number): SenderFeatures {
  return {
    sender,
    senderKind: 'UNKNOWN',
    campaignId: null,
    asOf: at,
    emittedAt: at,
    windows: [],
    clusters: [],
    urlDomains: [],
  };
}

function emptyEntry(): SenderEntry {
  return { features: Buffer.alloc(0), asOf: 0, campaignId: null, clusterIds: [], decision: EMPTY_STATE };
}

/** A cluster the decider owns but whose features the instance no longer holds: nothing left in its windows. */
function emptyCluster(clusterId: string, at: number): ClusterFeatures {
  return { clusterId, asOf: at, emittedAt: at, windows: [] };
}

export function createPartitionDecider(partition: number, tables: DeciderTables): PartitionDecider {
  const entries = new Map<string, SenderEntry>();
  const byCluster = new Map<string, Set<string>>();
  const contents = new Map<string, ContentState>();
  const due = createDueQueue();
  const queued = new Map<string, number>();
  let clock = Number.NEGATIVE_INFINITY;
  let clockWritten = clock;
  /** Override lapses are found by scanning expiries in (lapsesCheckedTo, clock]. */
  let lapsesCheckedTo = Number.NEGATIVE_INFINITY;
  let out: { evaluations: Decision[]; decisions: Decision[]; contentDecisions: ContentDecision[] } = {
    evaluations: [],
    decisions: [],
    contentDecisions: [],
  };
  const changed = new Set<string>();
  /** The clock at the last look for idle senders. */
  let sweptAt = Number.NEGATIVE_INFINITY;
  /** Senders held when shed last could not get within its budget; 0 when it could. */
  let shedExhaustedAt = 0;

  /** Whether a sender's state may go: nothing in force that a later decision must lift or keep. */
  function forgettable(sender: string, entry: SenderEntry, at: number): boolean {
    // Only ALLOW, which is what a sender without state gets anyway: a MONITOR, THROTTLE or
    // BLOCK on sms.decisions must be lifted by a later decision of this state.
    const f = entry.decision.inForce;
    if (f && (f.action !== 'ALLOW' || f.standing || f.overrideId !== null)) return false;
    return !tables.senderOverride(sender, entry.campaignId, at) && !tables.doNotOriginate(sender);
  }

  /** Drops a sender's state; take() writes its tombstone. */
  function forget(sender: string, entry: SenderEntry): void {
    index(sender, entry.clusterIds, []);
    entries.delete(sender);
    queued.delete(sender);
    changed.add(sender);
  }

  function sweepIdle(): void {
    if (!Number.isFinite(clock) || clock - sweptAt < IDLE_SWEEP_MS) return;
    sweptAt = clock;
    for (const [sender, entry] of entries)
      if (clock - entry.asOf >= SENDER_IDLE_TTL_MS && forgettable(sender, entry, clock))
        forget(sender, entry);
  }

  function index(sender: string, before: readonly string[], after: readonly string[]): void {
    for (const id of before)
      if (!after.includes(id)) {
        const set = byCluster.get(id);
        set?.delete(sender);
        if (set?.size === 0) byCluster.delete(id);
      }
    for (const id of after) {
      let set = byCluster.get(id);
      if (!set) {
        set = new Set();
        byCluster.set(id, set);
      }
      set.add(sender);
    }
  }

  function queue(key: string, at: number | null): void {
    if (at === null || queued.get(key) === at) return;
    queued.set(key, at);
    due.push(at, key);
  }

  function context(entry: SenderEntry, sender: string, f: SenderFeatures, at: number): DecideContext {
    return {
      policy: tables.policy(),
      shadowPolicy: tables.shadowPolicy(),
      cluster: tables.cluster,
      content: tables.content,
      capOf: tables.capOf,
      override: tables.senderOverride(sender, f.campaignId ?? entry.campaignId, at),
      doNotOriginate: tables.doNotOriginate(sender),
      domainBlocked: (d) => tables.domainBlocked(d, at),
    };
  }

  function featuresOf(entry: SenderEntry, sender: string, at: number): SenderFeatures {
    return entry.features.length > 0 ? tables.decodeFeatures(entry.features) : noFeatures(sender, at);
  }

  function evaluate(
    sender: string,
    entry: SenderEntry,
    f: SenderFeatures,
    trigger: Trigger,
    decidedAt: number,
  ) {
    const result = decide(context(entry, sender, f, trigger.at), f, entry.decision, trigger, decidedAt);
    entry.decision = result.state;
    out.evaluations.push(...result.evaluations);
    if (result.publish) out.decisions.push(result.publish);
    changed.add(sender);
    queue(sender, dueAt(entry.decision, tables.policy()));
  }

  function reevaluateSenders(
    senders: Iterable<string>,
    trigger: (f: SenderFeatures) => Trigger,
    decidedAt: number,
  ) {
    for (const sender of senders) {
      const entry = entries.get(sender);
      if (!entry) continue;
      const f = featuresOf(entry, sender, now(decidedAt));
      evaluate(sender, entry, f, trigger(f), decidedAt);
    }
  }

  function decideCluster(
    clusterId: string,
    c: ClusterFeatures,
    kind: ContentDecision['trigger'],
    at: number,
    basis: string,
    decidedAt: number,
  ) {
    const policy = tables.policy();
    if (!policy.content) return;
    const prev = contents.get(clusterId) ?? null;
    const result = decideContent(
      {
        policy,
        override: tables.clusterOverride(clusterId, at),
        domainAllowed: (d) => tables.domainAllowed(d, at),
        domainGroup: (d) => tables.domainGroup(d, at),
        crewGroup: (x) => tables.crewGroup(x, at),
      },
      c,
      prev,
      { kind, at, basis },
      decidedAt,
    );
    // A cluster back to ALLOW on its own evidence needs no memory: it is forgotten (its ALLOW
    // stays on the topic for firewalls and the audit), so state does not grow with every cluster.
    if (result.state?.action === 'ALLOW' && result.state.overrideId === null) contents.delete(clusterId);
    else if (result.state) contents.set(clusterId, result.state);
    if (result.publish) {
      out.contentDecisions.push(result.publish);
      changed.add(CONTENT_KEY_PREFIX + clusterId);
    }
    queue(CONTENT_KEY_PREFIX + clusterId, contentDueAt(result.state, policy.content.blockTtlMs));
  }

  function lapses(decidedAt: number): void {
    if (clock <= lapsesCheckedTo) return;
    const from = lapsesCheckedTo;
    lapsesCheckedTo = clock;
    const lapsed = (e: number | null) => e !== null && e > from && e <= clock;
    for (const o of tables.senderOverrides())
      if (lapsed(o.expiresAt)) decider.overrideUpdated(o, `${o.overrideId}:lapsed`, decidedAt);
    for (const o of tables.contentOverrides())
      if (lapsed(o.expiresAt)) decider.contentOverrideUpdated(o, `${o.overrideId}:lapsed`, decidedAt);
  }

  function runDue(decidedAt: number): void {
    const policy = tables.policy();
    for (const { at, sender: key } of due.popDue(clock)) {
      if (queued.get(key) === at) queued.delete(key);
      if (key.startsWith(CONTENT_KEY_PREFIX)) {
        const id = key.slice(CONTENT_KEY_PREFIX.length);
        const state = contents.get(id) ?? null;
        if (!policy.content || contentDueAt(state, policy.content.blockTtlMs) !== at) continue;
        decideCluster(id, tables.cluster(id) ?? emptyCluster(id, at), 'EXPIRY', at, String(at), decidedAt);
        continue;
      }
      const entry = entries.get(key);
      // Stale heap entries (the sender's state moved on since) are skipped.
      if (!entry || dueAt(entry.decision, policy) !== at) continue;
      evaluate(key, entry, featuresOf(entry, key, at), { kind: 'EXPIRY', at, basis: String(at) }, decidedAt);
    }
  }

  /**
   * The time a re-evaluation without input is at: the clock, or, in a partition that has had no
   * input yet (no event time to go by), the wall clock of the decision. The clock itself does not
   * move to it, so a backlog arriving later still runs on its own time.
   */
  const now = (decidedAt: number) => (Number.isFinite(clock) ? clock : decidedAt);

  function tick(t: number, decidedAt: number): void {
    if (t > clock) clock = t;
    lapses(decidedAt);
    runDue(decidedAt);
    sweepIdle();
  }

  const decider: PartitionDecider = {
    partition,
    get clock() {
      return clock;
    },
    get senderCount() {
      return entries.size;
    },
    get contentCount() {
      return contents.size;
    },
    features(f, raw, decidedAt) {
      let entry = entries.get(f.sender);
      if (!entry) {
        entry = emptyEntry();
        entries.set(f.sender, entry);
      }
      // Older features than those held (a replay of compacted history) do not roll a sender back.
      if (entry.asOf > f.asOf) return;
      const clusterIds = f.clusters.map((c) => c.clusterId);
      index(f.sender, entry.clusterIds, clusterIds);
      entry.features = Buffer.from(raw);
      entry.asOf = f.asOf;
      entry.campaignId = f.campaignId;
      entry.clusterIds = clusterIds;
      evaluate(f.sender, entry, f, { kind: 'FEATURES', at: f.asOf, basis: '' }, decidedAt);
      tick(f.asOf, decidedAt);
    },
    clusterUpdated(c, evidenceChanged, owned, decidedAt) {
      if (owned) {
        if (c.asOf > clock) clock = c.asOf;
        decideCluster(c.clusterId, c, 'CLUSTER', c.asOf, `${c.clusterId}@${c.asOf}`, decidedAt);
      }
      const senders = byCluster.get(c.clusterId);
      if (evidenceChanged && senders && senders.size > 0)
        reevaluateSenders(
          [...senders],
          (f) => ({ kind: 'CLUSTER', at: Math.max(f.asOf, c.asOf), basis: `${c.clusterId}@${c.asOf}` }),
          decidedAt,
        );
      if (owned) tick(clock, decidedAt);
    },
    contentUpdated(clusterId, at, decidedAt) {
      const senders = byCluster.get(clusterId);
      if (!senders || senders.size === 0) return;
      const basis = `content:${clusterId}@${at}`;
      reevaluateSenders(
        [...senders],
        (f) => ({ kind: 'CONTENT', at: Math.max(f.asOf, at, now(decidedAt)), basis }),
        decidedAt,
      );
    },
    overrideUpdated(o, basis, decidedAt, createIfMine) {
      if (createIfMine && o.scope === 'SENDER' && o.action === 'BLOCK' && !entries.has(o.target))
        entries.set(o.target, emptyEntry());
      const senders = new Set<string>();
      if (o.scope !== 'CAMPAIGN' && entries.has(o.target)) senders.add(o.target);
      if (o.scope !== 'SENDER') for (const [s, e] of entries) if (e.campaignId === o.target) senders.add(s);
      reevaluateSenders(
        senders,
        (f) => ({ kind: 'OVERRIDE', at: Math.max(f.asOf, now(decidedAt)), basis }),
        decidedAt,
      );
    },
    contentOverrideUpdated(o, basis, decidedAt) {
      for (const [id] of contents) {
        const c = tables.cluster(id);
        const names =
          o.scope === 'CLUSTER'
            ? id === o.target
            : (c?.windows.some((w) => w.urlDomains.includes(o.target)) ?? false) ||
              (contents.get(id)?.urlDomains.includes(o.target) ?? false);
        if (names)
          decideCluster(
            id,
            c ?? emptyCluster(id, now(decidedAt)),
            'OVERRIDE',
            now(decidedAt),
            basis,
            decidedAt,
          );
      }
      if (o.scope === 'CLUSTER' && !contents.has(o.target)) {
        // An operator decision about a cluster this partition never decided: decided by the owner.
        const c = tables.cluster(o.target);
        if (c) decideCluster(o.target, c, 'OVERRIDE', Math.max(now(decidedAt), c.asOf), basis, decidedAt);
      }
    },
    reevaluate(kind, senders, decidedAt) {
      const at = now(decidedAt);
      const basis = `${kind}@${at}`;
      reevaluateSenders(
        senders ? [...senders].filter((s) => entries.has(s)) : [...entries.keys()],
        (f) => ({ kind, at: Math.max(f.asOf, at), basis }),
        decidedAt,
      );
    },
    advanceClock(t, decidedAt) {
      tick(t, decidedAt);
    },
    reconcile(mine, decidedAt) {
      const at = now(decidedAt);
      for (const o of tables.senderOverrides())
        if (
          o.scope === 'SENDER' &&
          o.action === 'BLOCK' &&
          (o.expiresAt === null || o.expiresAt > at) &&
          !entries.has(o.target) &&
          mine(o.target)
        )
          entries.set(o.target, emptyEntry());
      const stale: string[] = [];
      for (const [sender, entry] of entries) {
        const o = tables.senderOverride(sender, entry.campaignId, at);
        const f = entry.decision.inForce;
        const listed = tables.doNotOriginate(sender);
        const decidedByList = f?.standing === true && f.overrideId === null;
        if ((o?.overrideId ?? null) !== (f?.overrideId ?? null) || listed !== decidedByList || (!f && o))
          stale.push(sender);
      }
      const basis = `reconcile@${at}`;
      reevaluateSenders(stale, (f) => ({ kind: 'OVERRIDE', at: Math.max(f.asOf, at), basis }), decidedAt);
    },
    take() {
      const changelog: { key: string; value: Uint8Array | null }[] = [];
      for (const key of changed) {
        if (key.startsWith(CONTENT_KEY_PREFIX)) {
          const s = contents.get(key.slice(CONTENT_KEY_PREFIX.length));
          changelog.push({ key, value: s ? encodeContentState(s) : null });
        } else {
          const e = entries.get(key);
          changelog.push({ key, value: e ? encodeEntry(e) : null });
        }
      }
      // The clock is written with the changes it comes with: restored with them, it resumes where
      // they were made; an idle clock's ticks write nothing.
      if (changed.size > 0 && clock !== clockWritten && Number.isFinite(clock)) {
        changelog.push({ key: CLOCK_KEY, value: encodeClock(clock) });
        clockWritten = clock;
      }
      changed.clear();
      const taken = { ...out, changelog };
      out = { evaluations: [], decisions: [], contentDecisions: [] };
      return taken;
    },
    shed(maxSenders) {
      if (entries.size <= maxSenders) return 0;
      // Over budget with too few ALLOW senders to forget: look again only once it has grown a
      // tenth, not at every batch (each look walks every sender).
      if (entries.size < shedExhaustedAt * 1.1) return 0;
      // Down to nine tenths, so that a budget reached is not sorted again at every batch.
      const target = Math.floor(maxSenders * 0.9);
      const at = now(Date.now());
      const candidates: [string, SenderEntry][] = [];
      for (const [sender, entry] of entries)
        if (forgettable(sender, entry, at)) candidates.push([sender, entry]);
      candidates.sort((a, b) => a[1].asOf - b[1].asOf || (a[0] < b[0] ? -1 : 1));
      let forgotten = 0;
      for (const [sender, entry] of candidates) {
        if (entries.size <= target) break;
        forget(sender, entry);
        forgotten++;
      }
      shedExhaustedAt = entries.size > maxSenders ? entries.size : 0;
      return forgotten;
    },
    restore(key, value) {
      if (key === CLOCK_KEY) {
        clock = Math.max(clock, decodeClock(value));
        clockWritten = clock;
        lapsesCheckedTo = clock;
        return;
      }
      const policy = tables.policy();
      if (key.startsWith(CONTENT_KEY_PREFIX)) {
        const s = decodeContentState(value);
        contents.set(key.slice(CONTENT_KEY_PREFIX.length), s);
        queue(key, contentDueAt(s, policy.content?.blockTtlMs ?? 86_400_000));
        return;
      }
      const entry = decodeEntry(Buffer.from(value));
      entries.set(key, entry);
      index(key, [], entry.clusterIds);
      queue(key, dueAt(entry.decision, policy));
    },
    hasSender: (sender) => entries.has(sender),
    pending: () =>
      changed.size > 0 ||
      out.evaluations.length > 0 ||
      out.decisions.length > 0 ||
      out.contentDecisions.length > 0,
  };
  return decider;
}

/**
 * The tables of a decider that runs alone (the sweep, what-if): no overrides, no lists, the
 * given clusters and content decisions, features decoded with `decodeFeatures`.
 */
export function standaloneTables(o: {
  readonly policy: Policy;
  readonly cluster: (clusterId: string) => ClusterFeatures | undefined;
  readonly content: (clusterId: string) => ContentInForce | undefined;
  /** Groups of the same clusters (createGroupIndex); none when omitted. */
  readonly groups?: GroupIndex;
  readonly capOf: CapOf;
  readonly decodeFeatures: (raw: Uint8Array) => SenderFeatures;
}): DeciderTables {
  return {
    policy: () => o.policy,
    shadowPolicy: () => undefined,
    cluster: o.cluster,
    content: o.content,
    domainGroup: (d, at) => o.groups?.domain(d, at),
    crewGroup: (c, at) => o.groups?.crew(c, at),
    senderOverride: () => undefined,
    senderOverrides: () => [],
    clusterOverride: () => undefined,
    contentOverrides: () => [],
    domainAllowed: () => false,
    domainBlocked: () => false,
    doNotOriginate: () => false,
    capOf: o.capOf,
    decodeFeatures: o.decodeFeatures,
  };
}
