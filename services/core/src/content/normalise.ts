/**
 * The single tokeniser behind every content feature. Fingerprint, URL domains, callback numbers
 * and the opt-out flag are all read from one scan of the body, so they agree on what a URL or a
 * number is, and the body is walked once per message.
 *
 * Everything this module returns that is not a domain or a number is still message content (the
 * normalised text keeps the words): it stays inside the process, is never logged, stored or
 * emitted, and only its fingerprint leaves.
 */
import { BARE_HOST_TLD_PATTERN, isBareHostLink, registrableDomain, urlHost } from './domains.ts';

/** What one scan of a body yields. */
export interface BodyScan {
  /** The body as `normaliseBody` defines it. Message content: in-process only. */
  readonly normalised: string;
  /** Hosts of the links found, in order of appearance, repeats kept (see `urlHost`). */
  readonly hosts: readonly string[];
  /** Links found, including any whose host could not be read. */
  readonly linkCount: number;
  /** Phone numbers found, as digits with the country code (see `phoneDigits`), repeats kept. */
  readonly phoneNumbers: readonly string[];
}

/** Token standing for an e-mail address. */
const EMAIL_TOKEN = '<email>';
/** Token standing for a word containing a digit, or a run of them. */
const NUMBER_TOKEN = '#';
/** Token standing for a link whose host could not be read. */
const URL_TOKEN = '<url>';

// Everything but plain words is read by this sticky expression, tried at the current position.
// Quantifiers are bounded (local part 64, label 63, as in the RFCs) so that a hostile body cannot
// make the scan quadratic.
const WORD_CHAR = String.raw`\p{L}\p{N}\p{M}`;
const LABEL = String.raw`[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?`;
const NANP = String.raw`(?:\+?1[\s.\-]?)?(?:\([2-9]\d\d\)|[2-9]\d\d)[\s.\-]?[2-9]\d\d[\s.\-]?\d{4}`;
const E164 = String.raw`\+[1-9](?:[\s.\-]?\d){6,14}`;
const SPECIAL = new RegExp(
  [
    // 1: e-mail address.
    String.raw`([\p{L}\p{N}._%+\-]{1,64}@(?:[\p{L}\p{N}\-]{1,63}\.)+\p{L}{2,63})`,
    // 2: link with a scheme or www.
    String.raw`((?:https?:\/\/|www\.)[^\s<>"]+)`,
    // 3: bare host ending in a known TLD, 4: its path, query or fragment.
    String.raw`(?<![${WORD_CHAR}._\-@\/])((?:${LABEL}\.)+(?:${BARE_HOST_TLD_PATTERN}))(?![${WORD_CHAR}\-])` +
      String.raw`([\/?#][^\s<>"]*)?`,
    // 5: North American number, 10 or 11 digits with optional separators, or +E.164.
    `(?<![${WORD_CHAR}+])(${NANP}|${E164})(?![${WORD_CHAR}])`,
    // 6: word; apostrophes inside it are kept here and dropped by foldWord.
    `([${WORD_CHAR}]+(?:['’ʼ][${WORD_CHAR}]+)*)`,
    // 7: currency sign, emoji or other symbol.
    String.raw`([\p{Sc}\p{So}])`,
  ].join('|'),
  'uy',
);

// ASCII characters after a run of letters and digits that may make the run part of a longer
// token (address, link, word with an apostrophe): such runs go through SPECIAL.
const CONTINUES_TOKEN = new Uint8Array(128);
for (const c of ".@_%+-':/") CONTINUES_TOKEN[c.charCodeAt(0)] = 1;

/** Whether an ASCII code can start a SPECIAL token other than a word: digit, "+", "(" or "$". */
function startsSpecial(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x28 || c === 0x24;
}

const WEEKDAYS: ReadonlySet<string> = new Set(
  'monday tuesday wednesday thursday friday saturday sunday'.split(' '),
);
const MONTHS: ReadonlySet<string> = new Set(
  (
    'january february march april may june july august september october november december ' +
    'jan feb mar apr jun jul aug sep sept oct nov dec'
  ).split(' '),
);
const MERIDIEMS: ReadonlySet<string> = new Set(['am', 'pm']);
const FORMAT_CHARS = /\p{Cf}/gu;
const DIGIT = /\p{Nd}/u;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching ASCII is the point
const NON_ASCII = /[^\x00-\x7f]/;
const APOSTROPHES = /['’ʼ]/g;
const NONSPACING_MARKS = /\p{Mn}/gu;

/**
 * A phone number as digits with its country code: North American 10-digit numbers get the leading
 * 1, "+" and separators are dropped ("+1 (202) 555-0100", "202.555.0100" and "12025550100" all give
 * "12025550100"). Other digit strings (short codes, national formats) keep their digits as written.
 * Null when the address has no digits or is not a number (an alphanumeric sender ID).
 */
export function phoneDigits(address: string): string | null {
  const compact = address.trim().replace(/[\s().-]/g, '');
  if (!/^\+?\d+$/.test(compact)) return null;
  if (compact.startsWith('+')) return compact.slice(1);
  return /^[2-9]\d\d[2-9]\d{6}$/.test(compact) ? `1${compact}` : compact;
}

function foldWord(word: string): string {
  const plain = word.replace(APOSTROPHES, '');
  if (DIGIT.test(plain)) return NUMBER_TOKEN;
  return NON_ASCII.test(plain)
    ? plain.normalize('NFD').replace(NONSPACING_MARKS, '').normalize('NFC')
    : plain;
}

/**
 * Scans a body once: see `normaliseBody` for the normalised text it builds, and `BodyScan` for the
 * rest.
 */
export function scanBody(body: string): BodyScan {
  const text = body.normalize('NFKC').toLowerCase().replace(FORMAT_CHARS, '');
  const tokens: string[] = [];
  const hosts: string[] = [];
  const phoneNumbers: string[] = [];
  let linkCount = 0;
  // Dates and times are personalisation like amounts: a weekday, a month name next to a number
  // ("may 5", "5 may") and am/pm after a number merge into the number token.
  const push = (token: string): void => {
    const last = tokens[tokens.length - 1];
    if (token === NUMBER_TOKEN || WEEKDAYS.has(token)) {
      if (last !== undefined && MONTHS.has(last)) tokens.pop();
      if (tokens[tokens.length - 1] !== NUMBER_TOKEN) tokens.push(NUMBER_TOKEN);
    } else if (last !== NUMBER_TOKEN || !(MONTHS.has(token) || MERIDIEMS.has(token))) tokens.push(token);
  };
  const pushLink = (host: string | null): void => {
    linkCount++;
    if (host === null) {
      push(URL_TOKEN);
      return;
    }
    hosts.push(host);
    push(`<url:${registrableDomain(host)}>`);
  };
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c >= 0x61 && c <= 0x7a) {
      // Fast path for the commonest token, a plain ASCII word; the same result as SPECIAL's.
      let j = i + 1;
      let hasDigit = false;
      for (; j < n; j++) {
        const d = text.charCodeAt(j);
        if (d >= 0x30 && d <= 0x39) hasDigit = true;
        else if (d < 0x61 || d > 0x7a) break;
      }
      const next = j < n ? text.charCodeAt(j) : 0x20;
      if (next < 0x80 && CONTINUES_TOKEN[next] === 0) {
        push(hasDigit ? NUMBER_TOKEN : text.slice(i, j));
        i = j;
        continue;
      }
    } else if (c < 0x80 && !startsSpecial(c)) {
      // Whitespace and ASCII punctuation separate tokens. (An address starting with ".", "_",
      // "%" or "-" is still matched from its next character, giving the same token.)
      i++;
      continue;
    }
    SPECIAL.lastIndex = i;
    const m = SPECIAL.exec(text);
    if (m === null) {
      // Nothing starts here (punctuation outside ASCII): skip the code point.
      i += c >= 0xd800 && c <= 0xdbff ? 2 : 1;
      continue;
    }
    i = SPECIAL.lastIndex;
    if (m[6] !== undefined) push(foldWord(m[6]));
    else if (m[1] !== undefined) push(EMAIL_TOKEN);
    else if (m[2] !== undefined) pushLink(urlHost(m[2]));
    else if (m[3] !== undefined) {
      // A lone "?" or "#" after it is sentence punctuation ("love.it?"), a lone "/" is a path.
      const hasPath = m[4] !== undefined && (m[4].startsWith('/') || m[4].length > 1);
      if (isBareHostLink(m[3], hasPath)) pushLink(urlHost(m[3]));
      // Not taken for a link ("call.me"): its labels are ordinary words.
      else for (const label of m[3].split('.')) push(foldWord(label));
    } else if (m[5] !== undefined) {
      phoneNumbers.push(phoneDigits(m[5])!);
      push(NUMBER_TOKEN);
    } else if (m[7] !== undefined) push(m[7]);
  }
  return { normalised: tokens.join(' '), hosts, linkCount, phoneNumbers };
}

/**
 * The text a content fingerprint is taken over, defined so that personalised copies of one
 * template become equal or differ in a few tokens. Exactly:
 *
 * 1. Unicode NFKC (full-width, ligature and styled letters become plain ones), lower-case, and
 *    format characters (zero-width spaces and joiners, soft hyphens: category Cf) removed, so
 *    invisible characters cannot split a template.
 * 2. The text is cut into tokens, and everything between tokens (whitespace, punctuation,
 *    modifier and math symbols) is dropped. Tokens, tried in this order at each position:
 *    - an e-mail address becomes `<email>`;
 *    - a link becomes `<url:DOMAIN>`, DOMAIN being the registrable domain of its host (see
 *      `registrableDomain`; punycode for international names), so per-recipient paths, queries
 *      and subdomains vanish; a link whose host cannot be read becomes `<url>`. A link is
 *      `http://` or `https://` or `www.` followed by non-space characters, or a bare host ending
 *      in a known TLD ("bit.ly/Xk29a"; without a path only for TLDs that are not also words);
 *    - a North American or +E.164 phone number (see `callbackNumbers`) becomes `#`;
 *    - a word (letters, digits and marks, with inner apostrophes removed: "don't" is "dont")
 *      becomes `#` if it contains a digit (amounts, codes such as "a7k2q9", times such as "10am"),
 *      else itself with nonspacing marks (accents) removed: "vóte" is "vote";
 *    - a currency sign, emoji or other symbol (Unicode Sc, So) is kept as a token of its own.
 * 3. Dates and times count as numbers: a weekday becomes `#`, a month name (full or abbreviated)
 *    just before or after a `#` merges into it, and so does "am" or "pm" just after one ("Tuesday,
 *    March 5 at 7:30 PM" gives "# at #"; "may" elsewhere stays a word).
 * 4. Consecutive `#` tokens merge into one ("$1,234.56" and "$12" both give "$ #"), and tokens are
 *    joined by single spaces.
 *
 * Names are not detected: "hi ann" and "hi bob" stay different, and the fingerprint's tolerance
 * absorbs the few differing tokens. The result is message content: in-process only.
 */
export function normaliseBody(body: string | null | undefined): string {
  return body ? scanBody(body).normalised : '';
}
