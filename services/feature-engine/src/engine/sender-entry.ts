/**
 * A sender's full state as a partition holds it (the cheap tier packs it into light-codec.ts's
 * bytes instead) and its open minutes' aggregates; entry-codec.ts writes it to the changelog.
 */
import type { AddressKind } from '@spamgate/schemas';
import type { DistinctCounter } from '../sketches/distinct-counter.ts';
import type { SenderState } from '../windows/sender-state.ts';
import type { UrlDomainList } from '../windows/url-domains.ts';

export interface MinuteAggregate {
  /** Sender kind and registration of the minute's latest message; UNKNOWN and null when it has none. */
  kind: AddressKind;
  campaignId: string | null;
  messages: number;
  recipients: DistinctCounter | null;
  urlMessages: number;
  deliveryFailures: number;
  spamReports: number;
  subscriberBlocks: number;
  lateEvents: number;
}

export interface SenderEntry {
  readonly sender: string;
  state: SenderState;
  kind: AddressKind;
  campaignId: string | null;
  /** Event time of the last emitted SenderFeatures; -Infinity before the first. */
  lastEmittedAsOf: number;
  /** Changed since the last emission. */
  dirty: boolean;
  /** Open minutes (start ms) and their aggregates. */
  minutes: Map<number, MinuteAggregate>;
  /** Recent URL domains, newest first (url-domains.ts); NO_URL_DOMAINS, shared, when none. */
  urlDomains: UrlDomainList;
  /** Estimated heap bytes (fullEntryBytes), as of the entry's last encoding. */
  approxBytes: number;
}
