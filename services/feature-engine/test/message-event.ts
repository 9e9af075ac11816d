/** A person-to-person text as the SMSC would send it: what most tests of the engine feed it. */
import type { MessageEvent } from '@spamgate/schemas';

let seq = 0;

/** A long-code message from `sender` to `recipient` at `eventTime`, with a fresh id (`<prefix>-<n>`). */
export function textMessage(
  sender: string,
  recipient: string,
  eventTime: number,
  body: string,
  prefix = 'm',
): MessageEvent {
  return {
    messageId: `${prefix}-${seq++}`,
    eventTime,
    sender,
    senderKind: 'LONG_CODE',
    recipient,
    body,
    campaignId: null,
    originNetwork: null,
  };
}
