/**
 * Opt-out replies. Since April 2025 the FCC requires honouring a revocation of consent made by any
 * reasonable means; the listed keywords always count, and so do short plain-language requests
 * built on them ("stop texting me", "unsubscribe please"). Messages sent to a recipient after an
 * opt-out are the strongest content-neutral spam signal, so a false positive here is costly too:
 * the rule below only accepts messages that are nothing but such a request.
 */
import { normaliseBody } from './normalise.ts';

/** The opt-out keywords (FCC revocation keywords plus the industry's STOPALL), upper-case. */
export const OPT_OUT_KEYWORDS = [
  'STOP',
  'QUIT',
  'END',
  'REVOKE',
  'OPT OUT',
  'CANCEL',
  'UNSUBSCRIBE',
  'STOPALL',
] as const;

/** Words allowed after the keyword. */
export const OPT_OUT_COURTESY_WORDS: ReadonlySet<string> = new Set([
  'all',
  'asap',
  'consent',
  'immediately',
  'me',
  'messages',
  'messaging',
  'now',
  'please',
  'pls',
  'plz',
  'texting',
  'texts',
  'thank',
  'thanks',
  'thx',
  'ty',
  'you',
]);

/** Most courtesy words after the keyword ("stop texting me now" is already too many). */
export const MAX_OPT_OUT_COURTESY_WORDS = 3;

const LEADING_WORDS: ReadonlySet<string> = new Set(['please', 'pls', 'plz']);
const KEYWORD_WORDS: readonly (readonly string[])[] = [
  ...OPT_OUT_KEYWORDS.map((k) => k.toLowerCase().split(' ')),
  ['optout'],
];
const SINGLE_WORD_KEYWORDS: ReadonlySet<string> = new Set(
  KEYWORD_WORDS.filter((k) => k.length === 1).map((k) => k[0]!),
);
const FIRST_WORDS: ReadonlySet<string> = new Set([...LEADING_WORDS, ...KEYWORD_WORDS.map((k) => k[0]!)]);
const SYMBOL = /^[\p{Sc}\p{So}]$/u;
// The longest text the rule can accept, with room for symbols: longer ones are not looked at.
const MAX_OPT_OUT_CHARS = 120;

/**
 * Whether a message is an opt-out request. Taken over the `normaliseBody` tokens (so case,
 * accents, punctuation and spacing do not matter, "opt-out" is "opt out", "don't" is "dont"), with
 * symbols and emoji ignored, the message must be, in order:
 *
 * 1. optionally "please" (or "pls", "plz");
 * 2. one keyword of `OPT_OUT_KEYWORDS` ("opt out" also written "optout");
 * 3. at most `MAX_OPT_OUT_COURTESY_WORDS` words, each a keyword or in `OPT_OUT_COURTESY_WORDS`.
 *
 * So "STOP", " stop! ", "Opt-out", "opt out.", "Unsubscribe please", "please stop texting me" and
 * "STOP STOP" are opt-outs; "Don't stop", "I can't stop laughing", "the END of the road", "stop 2"
 * and "cancel my order" are not.
 */
export function isOptOut(body: string | null | undefined): boolean {
  return isOptOutNormalised(normaliseBody(body));
}

/** `isOptOut` over text already normalised by `normaliseBody`. */
export function isOptOutNormalised(normalised: string): boolean {
  if (normalised.length === 0 || normalised.length > MAX_OPT_OUT_CHARS) return false;
  // Most messages are rejected on their first token, before splitting.
  const space = normalised.indexOf(' ');
  const first = space < 0 ? normalised : normalised.slice(0, space);
  if (!FIRST_WORDS.has(first) && !SYMBOL.test(first)) return false;
  const words = normalised.split(' ').filter((w) => !SYMBOL.test(w));
  let i = LEADING_WORDS.has(words[0] ?? '') ? 1 : 0;
  const keyword = KEYWORD_WORDS.find((k) => k.every((w, j) => words[i + j] === w));
  if (keyword === undefined) return false;
  i += keyword.length;
  return (
    words.length - i <= MAX_OPT_OUT_COURTESY_WORDS &&
    words.slice(i).every((w) => OPT_OUT_COURTESY_WORDS.has(w) || SINGLE_WORD_KEYWORDS.has(w))
  );
}

/** The opt-in keywords that revoke an earlier opt-out (CTIA: START, UNSTOP), upper-case. */
export const OPT_IN_KEYWORDS = ['START', 'UNSTOP'] as const;
const OPT_IN_WORDS: ReadonlySet<string> = new Set(OPT_IN_KEYWORDS.map((k) => k.toLowerCase()));

/**
 * Whether a message (normalised by `normaliseBody`) is an opt-in: one of `OPT_IN_KEYWORDS`, with
 * at most one courtesy word ("start please", "UNSTOP"). Stricter than opt-outs on purpose: a false
 * opt-in would erase an opt-out, and with it the evidence of sends after it.
 */
export function isOptInNormalised(normalised: string): boolean {
  if (normalised.length === 0 || normalised.length > 40) return false;
  const words = normalised.split(' ').filter((w) => w !== '' && !SYMBOL.test(w));
  const i = LEADING_WORDS.has(words[0] ?? '') ? 1 : 0;
  if (!OPT_IN_WORDS.has(words[i] ?? '')) return false;
  return words.length - i - 1 <= 1 && words.slice(i + 1).every((w) => OPT_OUT_COURTESY_WORDS.has(w));
}
