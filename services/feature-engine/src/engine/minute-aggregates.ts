/**
 * A sender's per-minute aggregates (SenderMinute): counting a message or a feedback event in its
 * minute, in either tier, and the record a closed minute becomes. ARCHITECTURE.md, "Feature engine".
 */
import type { AddressKind } from '@spamgate/schemas';
import { createDistinctCounter } from '../sketches/distinct-counter.ts';
import type { FeedbackKind } from '../windows/sender-state.ts';
import type { LightEntry } from './light-entry.ts';
import type { ProcessorOutput } from './processor-api.ts';
import type { MinuteAggregate } from './sender-entry.ts';

function emptyMinute(kind: AddressKind, campaignId: string | null): MinuteAggregate {
  return {
    kind,
    campaignId,
    messages: 0,
    recipients: null,
    urlMessages: 0,
    deliveryFailures: 0,
    spamReports: 0,
    subscriberBlocks: 0,
    lateEvents: 0,
  };
}

/** A message counted in its minute aggregate (the cheap tier rebuilds minutes with the same code). */
export function countMessage(
  agg: MinuteAggregate,
  kind: AddressKind,
  campaignId: string | null,
  late: boolean,
  hasUrl: boolean,
  recipientHi: number,
  recipientLo: number,
): boolean {
  agg.kind = kind;
  agg.campaignId = campaignId;
  if (late) {
    agg.lateEvents++;
    return true;
  }
  agg.messages++;
  if (hasUrl) agg.urlMessages++;
  agg.recipients ??= createDistinctCounter();
  agg.recipients.add(recipientHi, recipientLo);
  return false;
}

export function countFeedback(agg: MinuteAggregate, kind: FeedbackKind, late: boolean): boolean {
  if (late) {
    agg.lateEvents++;
    return true;
  }
  if (kind === 'DELIVERY_FAILURE') agg.deliveryFailures++;
  else if (kind === 'SPAM_REPORT') agg.spamReports++;
  else if (kind === 'SUBSCRIBER_BLOCK') agg.subscriberBlocks++;
  return false;
}

export function minuteOf(minutes: Map<number, MinuteAggregate>, start: number): MinuteAggregate {
  let agg = minutes.get(start);
  if (!agg) {
    // Kind and registration come from the minute's messages only: taking them from the sender
    // would make a feedback-only minute depend on how the two input topics interleave.
    agg = emptyMinute('UNKNOWN', null);
    minutes.set(start, agg);
  }
  return agg;
}

/** The open minute aggregates of a cheap sender, counted as the full tier counts them. */
export function lightMinutes(light: LightEntry): Map<number, MinuteAggregate> {
  const minutes = new Map<number, MinuteAggregate>();
  for (const e of light.events) {
    if (e.emitted) continue;
    const agg = minuteOf(minutes, e.minute);
    if (e.type === 'message')
      countMessage(agg, light.kind, null, e.late, e.d.hasUrl, e.d.recipientHi, e.d.recipientLo);
    else countFeedback(agg, e.kind, e.late);
  }
  return minutes;
}

export function minuteRecord(sender: string, start: number, agg: MinuteAggregate): ProcessorOutput {
  return {
    kind: 'minute',
    sender,
    value: {
      sender,
      senderKind: agg.kind,
      campaignId: agg.campaignId,
      minute: start,
      messages: agg.messages,
      distinctRecipients: Math.round(agg.recipients?.estimate() ?? 0),
      urlMessages: agg.urlMessages,
      deliveryFailures: agg.deliveryFailures,
      spamReports: agg.spamReports,
      subscriberBlocks: agg.subscriberBlocks,
      lateEvents: agg.lateEvents,
      version: 1,
    },
  };
}
