/**
 * Two-way contacts as an enforcement point sees them: recipient R is a contact of sender S when R
 * messaged S within the look-back. A THROTTLE scoped to NEW_CONTACTS stops only messages to
 * recipients who are not. A firewall that sees both directions of a subscriber's traffic keeps
 * this from the messages it passes; one that sees only one direction treats every recipient as
 * new, which is stricter, never laxer.
 */

/** The feature engine's default contact look-back (SPAMGATE_CONTACT_LOOKBACK): 30 days. */
export const DEFAULT_CONTACT_LOOKBACK_MS = 30 * 86_400_000;

export interface ContactBook {
  /** Records that `from` messaged `to` at `time`. */
  heard(from: string, to: string, time: number): void;
  /** Whether `recipient` messaged `sender` within the look-back before `time`. */
  isContact(sender: string, recipient: string, time: number): boolean;
}

export function createContactBook(lookbackMs = DEFAULT_CONTACT_LOOKBACK_MS): ContactBook {
  /** Per address: who messaged it, and when last. */
  const heardFrom = new Map<string, Map<string, number>>();
  return {
    heard(from, to, time) {
      let book = heardFrom.get(to);
      if (!book) {
        book = new Map();
        heardFrom.set(to, book);
      }
      if ((book.get(from) ?? Number.NEGATIVE_INFINITY) < time) book.set(from, time);
    },
    isContact(sender, recipient, time) {
      const last = heardFrom.get(sender)?.get(recipient);
      return last !== undefined && last <= time && time - last <= lookbackMs;
    },
  };
}
