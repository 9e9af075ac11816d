/**
 * Enforcement figures from replayed verdicts: per group of senders (a simulator scenario) and
 * overall, how many messages the firewall delivered and stopped, and by what; the share of spam
 * delivered and of legitimate messages stopped; and each THROTTLE by how many of the messages it
 * was in force for it stopped (one that stopped none did not bind). docs/report.md defines them.
 */
import type { StoppedBy, Verdict } from './firewall.ts';

export interface EnforcementCounts {
  readonly messages: number;
  readonly delivered: number;
  readonly stopped: Readonly<Record<StoppedBy, number>>;
  /** Messages to two-way contacts (the recipient had messaged the sender), and of those delivered. */
  readonly toContacts: number;
}

export interface ThrottleBinding {
  readonly decisionId: string;
  readonly sender: string;
  readonly group: string;
  /** Messages the sender sent while the THROTTLE was in force, and how many it stopped. */
  readonly messages: number;
  readonly stopped: number;
}

export interface EnforcementFigures {
  readonly groups: ReadonlyMap<string, EnforcementCounts & { readonly spam: boolean }>;
  readonly spam: EnforcementCounts;
  readonly legitimate: EnforcementCounts;
  /** Spam messages delivered / spam messages; null without spam. */
  readonly spamDeliveredShare: number | null;
  /** Legitimate messages stopped / legitimate messages; null without any. */
  readonly legitimateStoppedShare: number | null;
  /** Every THROTTLE that was in force for at least one message, fewest stops first. */
  readonly throttles: readonly ThrottleBinding[];
}

export interface EnforcementTally {
  record(
    message: { readonly sender: string; readonly group: string; readonly spam: boolean },
    verdict: Verdict,
  ): void;
  figures(): EnforcementFigures;
}

interface MutableCounts {
  messages: number;
  delivered: number;
  stopped: Record<StoppedBy, number>;
  toContacts: number;
}

const empty = (): MutableCounts => ({
  messages: 0,
  delivered: 0,
  stopped: { CONTENT: 0, BLOCK: 0, THROTTLE: 0 },
  toContacts: 0,
});

function add(into: MutableCounts, v: Verdict): void {
  into.messages++;
  if (v.toContact) into.toContacts++;
  if (v.delivered) into.delivered++;
  else if (v.stoppedBy) into.stopped[v.stoppedBy]++;
}

function sum(list: readonly EnforcementCounts[]): EnforcementCounts {
  const out = empty();
  for (const c of list) {
    out.messages += c.messages;
    out.delivered += c.delivered;
    out.toContacts += c.toContacts;
    for (const k of Object.keys(out.stopped) as StoppedBy[]) out.stopped[k] += c.stopped[k];
  }
  return out;
}

export function createEnforcementTally(): EnforcementTally {
  const groups = new Map<string, MutableCounts & { spam: boolean }>();
  const throttles = new Map<
    string,
    { decisionId: string; sender: string; group: string; messages: number; stopped: number }
  >();
  return {
    record(m, v) {
      let g = groups.get(m.group);
      if (!g) {
        g = { ...empty(), spam: m.spam };
        groups.set(m.group, g);
      }
      add(g, v);
      const d = v.senderDecision;
      if (d?.action === 'THROTTLE') {
        let t = throttles.get(d.decisionId);
        if (!t) {
          t = { decisionId: d.decisionId, sender: m.sender, group: m.group, messages: 0, stopped: 0 };
          throttles.set(d.decisionId, t);
        }
        t.messages++;
        if (v.stoppedBy === 'THROTTLE') t.stopped++;
      }
    },
    figures() {
      const all = [...groups.values()];
      const spam = sum(all.filter((g) => g.spam));
      const legitimate = sum(all.filter((g) => !g.spam));
      return {
        groups,
        spam,
        legitimate,
        spamDeliveredShare: spam.messages === 0 ? null : spam.delivered / spam.messages,
        legitimateStoppedShare:
          legitimate.messages === 0
            ? null
            : (legitimate.messages - legitimate.delivered) / legitimate.messages,
        throttles: [...throttles.values()].sort(
          (a, b) =>
            a.stopped - b.stopped || b.messages - a.messages || (a.decisionId < b.decisionId ? -1 : 1),
        ),
      };
    },
  };
}
