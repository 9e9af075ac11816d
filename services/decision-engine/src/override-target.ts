/**
 * The sender an operator names in `spamgate override`, in the form the engine compares: a
 * number as E.164 (`+` and country code, 8 to 15 digits in all), however it was typed; a short
 * code as its digits; an alphanumeric sender id as typed. An override on "+1 202 555 0100" would
 * otherwise be stored, reported as done, and never match the sender "+12025550100".
 */
import { normaliseAddress } from '@spamgate/core';
import { UsageError } from './usage.ts';

export function normaliseSenderTarget(raw: string): string {
  const typed = raw.trim();
  // Separators dropped from a number as the subscriber hasher drops them (anything else is only
  // lower-cased, and read as typed below).
  const compact = normaliseAddress(typed);
  if (compact.startsWith('+')) {
    if (/^\+[1-9]\d{7,14}$/.test(compact)) return compact;
    throw new UsageError(
      `--sender ${JSON.stringify(typed)} is not an E.164 number: + then the country code and number, 8 to 15 digits (e.g. +12025550100)`,
    );
  }
  if (/^\d+$/.test(compact)) {
    if (compact.length <= 8) return compact; // a short code
    throw new UsageError(
      `--sender ${JSON.stringify(typed)}: write a number in E.164, with + and its country code (e.g. +${compact}); digits alone are a short code of at most 8`,
    );
  }
  if (/^[A-Za-z0-9 ]{1,11}$/.test(typed) && /[A-Za-z]/.test(typed)) return typed; // an alphanumeric sender id
  throw new UsageError(
    `--sender ${JSON.stringify(typed)} is neither an E.164 number, a short code nor an alphanumeric sender id (letters, digits and spaces, at most 11)`,
  );
}
