/**
 * Phone numbers embedded in message bodies. A body asking the recipient to call or text another
 * number than the one it came from is a classic scam pattern (fake bank fraud lines, "call to claim").
 */
import { phoneDigits, scanBody } from './normalise.ts';

/**
 * The phone numbers in a body other than the sender's own, as digits with the country code
 * ("+1 (202) 555-0100" gives "12025550100", see `phoneDigits`), each once, in order of appearance.
 * Recognised: North American numbers of 10 digits, or 11 with a leading 1 or +1, with or without
 * separators (spaces, dots, dashes, area code in parentheses; area code and exchange start with
 * 2-9), and international numbers written as + followed by 7 to 15 digits. The sender's number is
 * left out because quoting it is not a different channel; an alphanumeric sender ID or short code
 * matches no number, so every number in its messages counts. The numbers may be subscribers':
 * hash them before storing them anywhere.
 */
export function callbackNumbers(body: string | null | undefined, sender: string): string[] {
  return body ? otherThanSender(scanBody(body).phoneNumbers, sender) : [];
}

/** True when the body contains a phone number other than the sender's (see `callbackNumbers`). */
export function hasCallbackOtherThanSender(body: string | null | undefined, sender: string): boolean {
  return callbackNumbers(body, sender).length > 0;
}

/** The distinct numbers of a scan that are not the sender's. */
export function otherThanSender(numbers: readonly string[], sender: string): string[] {
  if (numbers.length === 0) return [];
  const own = phoneDigits(sender);
  return [...new Set(numbers)].filter((n) => n !== own);
}
