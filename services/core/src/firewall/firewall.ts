/**
 * A reference enforcement point: what an SMS firewall that follows sms.decisions (per sender) and
 * sms.content-decisions (per content cluster) does with each message, as docs/contract.md defines
 * it. The report's enforcement replay, the decision sweep and `what-if` all judge decisions by
 * what this lets through, not by their labels. Pure and in memory; messages in time order.
 *
 * - A content BLOCK in force stops every message that matches it (its cluster id, one of its URL
 *   domains, one of its call-back numbers), whoever sends it, unless an operator allowed the
 *   message's own cluster.
 * - A sender BLOCK in force stops the sender's messages.
 * - A THROTTLE stops a message when the sender already had throttleRatePerMinute messages of the
 *   throttle's scope delivered in the last minute, or throttleRatePerHour in the last hour
 *   (NEW_CONTACTS: only messages to recipients who have not messaged the sender count and stop).
 * - ALLOW and MONITOR deliver; so does any decision past its expiresAt (enforcement fails open).
 */
import { type ContactBook, createContactBook, DEFAULT_CONTACT_LOOKBACK_MS } from './contact-book.ts';
import type { ContentMatchKeys } from './match-keys.ts';
import { createSlidingCount, type SlidingCount } from './sliding-count.ts';

/** The fields of a Decision (sms.decisions) an enforcement point reads. */
export interface SenderDecisionView {
  readonly decisionId: string;
  readonly sender: string;
  /** ALLOW, MONITOR, THROTTLE or BLOCK; anything else reads as MONITOR (deliver). */
  readonly action: string;
  readonly throttleRatePerMinute: number | null;
  readonly throttleRatePerHour: number | null;
  /** ALL_RECIPIENTS or NEW_CONTACTS; anything else reads as ALL_RECIPIENTS. */
  readonly throttleScope: string;
  /** ms since the epoch; null for no expiry. */
  readonly expiresAt: number | null;
}

/** The fields of a ContentDecision (sms.content-decisions) an enforcement point reads. */
export interface ContentDecisionView {
  readonly decisionId: string;
  readonly clusterId: string;
  /** ALLOW, MONITOR or BLOCK; anything else reads as MONITOR (deliver). */
  readonly action: string;
  readonly urlDomains: readonly string[];
  readonly callbackNumbers: readonly string[];
  readonly expiresAt: number | null;
  readonly overrideId: string | null;
}

export interface MessageView {
  /** When the message reaches the enforcement point, ms since the epoch. */
  readonly time: number;
  readonly sender: string;
  readonly recipient: string;
  readonly content: ContentMatchKeys;
}

export type StoppedBy = 'CONTENT' | 'BLOCK' | 'THROTTLE';

export interface Verdict {
  readonly delivered: boolean;
  /** What stopped it; null when delivered. */
  readonly stoppedBy: StoppedBy | null;
  /** The decision that stopped it; null when delivered. */
  readonly decisionId: string | null;
  /** The recipient had messaged the sender within the contact look-back. */
  readonly toContact: boolean;
  /** The sender decision in force for the message (stopping it or not), null when none; for THROTTLEs that never bind. */
  readonly senderDecision: { readonly decisionId: string; readonly action: string } | null;
}

export interface Firewall {
  /** A sender decision comes into force (replacing the sender's previous one). */
  senderDecision(d: SenderDecisionView): void;
  /** A content decision comes into force (replacing the cluster's previous one). */
  contentDecision(d: ContentDecisionView): void;
  /** Enforces one message; messages must come in time order. */
  message(m: MessageView): Verdict;
}

export interface FirewallOptions {
  /** How long a recipient who messaged a sender stays a two-way contact; default 30 days. */
  readonly contactLookbackMs?: number;
}

interface Sent {
  readonly all: SlidingCount;
  readonly toNewContacts: SlidingCount;
}

const inForce = (expiresAt: number | null, time: number): boolean => expiresAt === null || time < expiresAt;

/** An index from a match key to the content BLOCKs listing it. */
class KeyIndex {
  readonly #map = new Map<string, Map<string, ContentDecisionView>>();
  add(key: string, d: ContentDecisionView): void {
    let m = this.#map.get(key);
    if (!m) {
      m = new Map();
      this.#map.set(key, m);
    }
    m.set(d.clusterId, d);
  }
  remove(key: string, clusterId: string): void {
    const m = this.#map.get(key);
    m?.delete(clusterId);
    if (m?.size === 0) this.#map.delete(key);
  }
  find(key: string, time: number): ContentDecisionView | undefined {
    const m = this.#map.get(key);
    if (!m) return undefined;
    for (const d of m.values()) if (inForce(d.expiresAt, time)) return d;
    return undefined;
  }
}

export function createFirewall(options: FirewallOptions = {}): Firewall {
  const contacts: ContactBook = createContactBook(options.contactLookbackMs ?? DEFAULT_CONTACT_LOOKBACK_MS);
  const senders = new Map<string, SenderDecisionView>();
  const clusters = new Map<string, ContentDecisionView>();
  const domains = new KeyIndex();
  const callbacks = new KeyIndex();
  const sent = new Map<string, Sent>();

  function unindex(d: ContentDecisionView): void {
    for (const k of d.urlDomains) domains.remove(k, d.clusterId);
    for (const k of d.callbackNumbers) callbacks.remove(k, d.clusterId);
  }

  function contentBlock(c: ContentMatchKeys, time: number): ContentDecisionView | undefined {
    const own = c.clusterId === null ? undefined : clusters.get(c.clusterId);
    if (own && inForce(own.expiresAt, time)) {
      // An operator's allow of the message's own cluster wins over what other clusters list.
      if (own.action === 'ALLOW' && own.overrideId !== null) return undefined;
      if (own.action === 'BLOCK') return own;
    }
    for (const d of c.urlDomains) {
      const hit = domains.find(d, time);
      if (hit) return hit;
    }
    for (const n of c.callbackNumbers) {
      const hit = callbacks.find(n, time);
      if (hit) return hit;
    }
    return undefined;
  }

  function sentBy(sender: string): Sent {
    let s = sent.get(sender);
    if (!s) {
      s = { all: createSlidingCount(), toNewContacts: createSlidingCount() };
      sent.set(sender, s);
    }
    return s;
  }

  function throttled(d: SenderDecisionView, s: Sent, toContact: boolean, time: number): boolean {
    const newContactsOnly = d.throttleScope === 'NEW_CONTACTS';
    if (newContactsOnly && toContact) return false;
    const count = (newContactsOnly ? s.toNewContacts : s.all).at(time);
    if (d.throttleRatePerMinute !== null && count.minute >= d.throttleRatePerMinute) return true;
    return d.throttleRatePerHour !== null && count.hour >= d.throttleRatePerHour;
  }

  return {
    senderDecision(d) {
      senders.set(d.sender, d);
    },
    contentDecision(d) {
      const before = clusters.get(d.clusterId);
      if (before) unindex(before);
      clusters.set(d.clusterId, d);
      if (d.action !== 'BLOCK') return;
      for (const k of d.urlDomains) domains.add(k, d);
      for (const k of d.callbackNumbers) callbacks.add(k, d);
    },
    message(m) {
      const toContact = contacts.isContact(m.sender, m.recipient, m.time);
      const content = contentBlock(m.content, m.time);
      const held = senders.get(m.sender);
      const d = held && inForce(held.expiresAt, m.time) ? held : undefined;
      const senderDecision = d ? { decisionId: d.decisionId, action: d.action } : null;
      const s = sentBy(m.sender);
      const stop = (stoppedBy: StoppedBy, decisionId: string): Verdict => ({
        delivered: false,
        stoppedBy,
        decisionId,
        toContact,
        senderDecision,
      });
      let verdict: Verdict;
      if (content) verdict = stop('CONTENT', content.decisionId);
      else if (d?.action === 'BLOCK') verdict = stop('BLOCK', d.decisionId);
      else if (d?.action === 'THROTTLE' && throttled(d, s, toContact, m.time))
        verdict = stop('THROTTLE', d.decisionId);
      else verdict = { delivered: true, stoppedBy: null, decisionId: null, toContact, senderDecision };
      if (verdict.delivered) {
        s.all.add(m.time);
        if (!toContact) s.toNewContacts.add(m.time);
        contacts.heard(m.sender, m.recipient, m.time);
      }
      return verdict;
    },
  };
}
