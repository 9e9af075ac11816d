/**
 * Content cluster ids: an exact key per message template, for re-keying messages across senders
 * (snowshoe campaigns spread one template over many numbers). Unlike the per-sender fingerprint,
 * which is compared within a Hamming distance, the id must be equal for personalised copies of a
 * template, since it becomes a Kafka key. It is a bottom-k MinHash (Broder 1997) over the
 * template words of the body: the words that remain once numbers, links, symbols, stop words and
 * words that look like personalisation are set aside. Copies agree unless a word that differs
 * between them is among the few with the smallest keyed hashes; unrelated texts agree only if they
 * share those words. Short and generic texts ("ok", "on my way", "STOP") get no id, so they never
 * form clusters with thousands of senders. See docs/content-clusters.md for the measured rates.
 */
import { hash, hkdfSync } from 'node:crypto';
import { SpamgateError } from '../errors.ts';
import { contentSecretBytes, hkdfTables } from './fingerprint.ts';
import { scanBody } from './normalise.ts';
import { isOptOutNormalised } from './opt-out.ts';

/**
 * Template words whose hashes make up the id. On the test corpus (content-cluster-key.test.ts, 3
 * seeds x 8 keys), 1 word splits 0.07% of copies and merges 0.55% of unrelated pairs, 2 words 0.08%
 * and 0.092%, 3 words 0.08% and 0.0007%, 4 words 2.7% (short templates then need capitalised words)
 * and 0.0001%.
 */
export const CLUSTER_SKETCH_WORDS = 3;

/**
 * Fewest template words, names included, for a body to have a cluster id. CJK characters, which are
 * not separated by spaces, count half a word per pair of characters (see `templateWords`). On the
 * test corpus 4 would do as well (no generic message has 4 words left once stop words are gone);
 * 5 keeps a margin, and costs two short 2FA templates their id.
 */
export const MIN_CLUSTER_WORDS = 5;

/** Fewest template words written in lower case (not names or brands) for a body to have an id. */
export const MIN_LOWER_CASE_CLUSTER_WORDS = 2;

/** Hex digits of `clusterIdString`: 53 bits in 14 digits. */
export const CLUSTER_ID_HEX_DIGITS = 14;

/**
 * A cluster-id key: the secret expanded once into the tables of the word hash and the key of the
 * id hash. Build one per key with `createClusterKey` and reuse it; both live in a closure, so
 * logging the key shows nothing.
 */
export interface ClusterKey {
  /**
   * The cluster id of `body` given `normalised`, its text as `scanBody` or `normaliseBody` gives
   * it (so one scan serves every content feature); `body` itself is read for letter case only.
   */
  clusterIdScanned(normalised: string, body: string): number | null;
}

const TABLE_LABEL = 'spamgate/content-cluster/v1/word-hash';
const ID_LABEL = 'spamgate/content-cluster/v1/id';
/** Character positions of the word hash tables; longer words wrap around. */
const HASH_POSITIONS = 16;

/**
 * Expands a secret into a cluster-id key. Words are ordered by a keyed tabulation hash (as in
 * `createContentKey`: per character position, a random 32-bit word for the code unit's low byte
 * and one for its high byte, XORed), with tables drawn from the secret with HKDF-SHA-256. The id is
 * the first 53 bits of SHA-256 over a second HKDF-derived 256-bit secret followed by the chosen
 * words; only 53 of the 256 bits are kept, so the length extension that makes a secret prefix
 * unsafe as a MAC cannot be used, and an HMAC (about 9 times slower here) is not needed. Without the
 * key nobody can compute the id of a guessed text. Refuses secrets shorter than
 * MIN_CONTENT_KEY_BYTES.
 */
export function createClusterKey(secret: string | Uint8Array): ClusterKey {
  const secretBytes = contentSecretBytes(secret, 'content cluster');
  const entries = HASH_POSITIONS * 512;
  const material = hkdfTables(secretBytes, `${TABLE_LABEL}/`, entries * 4);
  const table = new Int32Array(entries);
  for (let i = 0; i < entries; i++) table[i] = material.readInt32LE(i * 4);
  const idPrefix = Buffer.from(hkdfSync('sha256', secretBytes, '', ID_LABEL, 32)).toString('hex');

  function wordHash(word: string): number {
    let h = table[word.length & 0xff]! ^ table[0x100 | ((word.length >>> 8) & 0xff)]!;
    for (let i = 0; i < word.length; i++) {
      const c = word.charCodeAt(i);
      const p = (i % HASH_POSITIONS) << 9;
      h ^= table[p | (c & 0xff)]! ^ table[p | 0x100 | (c >>> 8)]!;
    }
    return h >>> 0;
  }

  function clusterIdScanned(normalised: string, body: string): number | null {
    if (normalised.length === 0 || isOptOutNormalised(normalised)) return null;
    const words = templateWords(normalised, body);
    if (words === null) return null;
    // Bottom-k: the CLUSTER_SKETCH_WORDS lower-case words with the smallest hashes, topped up from
    // the capitalised ones (names, brands) only when there are too few.
    const chosen = smallest(words.lower, wordHash, CLUSTER_SKETCH_WORDS);
    for (const tier of [words.capitalised, words.titleCase]) {
      if (chosen.length < CLUSTER_SKETCH_WORDS) {
        chosen.push(...smallest(tier, wordHash, CLUSTER_SKETCH_WORDS - chosen.length));
      }
    }
    chosen.sort();
    const digest = hash('sha256', `${idPrefix} ${chosen.join(' ')}`, 'buffer') as Buffer;
    const id = Number(digest.readBigUInt64BE(0) >> 11n);
    return id === 0 ? 1 : id;
  }

  return Object.freeze({ clusterIdScanned });
}

/** The `count` words with the smallest hashes, ties broken by the words themselves. */
function smallest(words: ReadonlySet<string>, wordHash: (word: string) => number, count: number): string[] {
  const best: { word: string; hash: number }[] = [];
  for (const word of words) {
    const h = wordHash(word);
    if (best.length === count) {
      const last = best[count - 1]!;
      if (h > last.hash || (h === last.hash && word > last.word)) continue;
      best.pop();
    }
    let i = best.length;
    while (i > 0 && (best[i - 1]!.hash > h || (best[i - 1]!.hash === h && best[i - 1]!.word > word))) i--;
    best.splice(i, 0, { word, hash: h });
  }
  return best.map((b) => b.word);
}

/**
 * The cluster id of a body: a positive integer below 2^53, equal for bodies with the same template
 * words under `key` (see `templateWords`), or null when the body is null, empty, an opt-out
 * request, or too short or generic to be a template.
 */
export function clusterIdOf(body: string | null | undefined, key: ClusterKey): number | null {
  return body ? key.clusterIdScanned(scanBody(body).normalised, body) : null;
}

/** A cluster id, or a text that should be one, that is not: a record keyed by it is dead-lettered. */
export class InvalidClusterIdError extends SpamgateError {
  override name = 'InvalidClusterIdError';
  constructor(message: string) {
    super(message, { code: 'INVALID_CLUSTER_ID', retriable: false, badInput: true });
  }
}

/** A cluster id as a Kafka key: CLUSTER_ID_HEX_DIGITS lower-case hex digits. */
export function clusterIdString(id: number): string {
  if (!Number.isSafeInteger(id) || id <= 0) {
    throw new InvalidClusterIdError('a cluster id is a positive safe integer');
  }
  return id.toString(16).padStart(CLUSTER_ID_HEX_DIGITS, '0');
}

const CLUSTER_ID_STRING = new RegExp(`^[0-9a-f]{${CLUSTER_ID_HEX_DIGITS}}$`);

/** The cluster id written by `clusterIdString`; throws INVALID_CLUSTER_ID on anything else. */
export function parseClusterId(text: string): number {
  const id = CLUSTER_ID_STRING.test(text) ? Number.parseInt(text, 16) : 0;
  if (!Number.isSafeInteger(id) || id <= 0) {
    throw new InvalidClusterIdError(
      'not a cluster id: expected 14 lower-case hex digits of a positive 53-bit value',
    );
  }
  return id;
}

// Words that say nothing about which template a text comes from: function words, the commonest
// words of personal texts (so that "love you, good night" is not a template), and boilerplate that
// many campaigns share ("Reply STOP to opt out", "Msg & data rates may apply"). English and
// Spanish; other languages get no stop words and need more text than the minimum anyway.
const STOP_WORDS: ReadonlySet<string> = new Set(
  (
    'a an the and or but if of to in on at by for from with without about as into onto over under up ' +
    'down out off i me my mine we us our you your yours u ur he him his she her it its they them their ' +
    'this that these those there here is are was were be been being am do does did done have has had ' +
    'having will would can could should shall may might must not no yes yeah yep ok okay k kk so just ' +
    'very too also only still then than now when what where who whom which why how all any some more ' +
    'most much many one get got go going gonna wanna let lets know like want need make take see come ' +
    'back please pls plz thanks thank thx ty hi hey hello dear lol haha hahaha im ill ive id dont cant ' +
    'wont didnt isnt youre thats whats sure sorry really well oh omg lmk ttyl np omw btw ' +
    'reply stop text txt texting msg msgs message messages data rates apply end quit cancel ' +
    'unsubscribe optout opt help info free std ' +
    'love miss call good great nice day today tomorrow tonight night morning time soon later home ' +
    'way happy new year birthday bday merry christmas congrats congratulations thanksgiving ' +
    'el la los las un una unos unas de del y o que en por para con sin su sus tu tus mi mis es son al ' +
    'lo le les se si ya muy mas pero como hola gracias buenas buenos dias noches te quiero'
  ).split(' '),
);

// Words after which the next word is a name: greetings ("Hi Ann") and introductions ("this is
// Bob", "it's Bob", "I'm Bob", "soy María"). Only needed when the name is written in lower case;
// capitalised names are set aside anyway. ("Dr." is not here: "Maple Dr" is a street.)
const GREETINGS: ReadonlySet<string> = new Set(
  'hi hey hello dear hiya heya yo attn hola estimado estimada querido querida'.split(' '),
);
const INTRODUCTIONS: ReadonlySet<string> = new Set(['its', 'im', 'soy']);
const NAME_AFTER_IS: ReadonlySet<string> = new Set(['this', 'name']);

// Scripts written without spaces between words: a run of them is one token of `normaliseBody`,
// so it is cut into overlapping pairs of characters (a name changes two or three pairs).
const UNSPACED = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}]/u;
const NO_LETTER = /^[^\p{L}]*$/u;
const ASCII_LETTER = /[a-z]/;
// A Chinese or Japanese name in its usual frames, which normalisation cannot cut out of the run of
// characters around it: after "尊敬的" or "亲爱的" (dear) and before a title or a greeting ("客户"
// customer, "先生" Mr, "您好" hello, "様" and "さん"), or at the start of a run before one of these.
const CJK_NAME =
  /(?<=尊敬的|亲爱的)\p{Script=Han}{1,3}?(?=客户|先生|女士|会员|用户|同学|您好|你好|様|さん|$)|^\p{Script=Han}{2,3}(?=您好|你好|先生|女士|様|さん)/gu;

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching ASCII is the point
const NON_ASCII = /[^\x00-\x7f]/;
const SENTENCE_END = /[.!?\n\r]/;
const TITLE_BEFORE_STOP = /(?:^|[^\p{L}])(?:Dr|Mr|Mrs|Ms|Mx|Prof|Rev|Fr)$/u;
const NAME_FOLLOWS = /^[,:!]|^\s+[\p{Lu}]/u;
const MARKS = /\p{Mn}/gu;

/** The template words of a body, apart by letter case. */
export interface TemplateWords {
  /** Words written in lower case, or at the start of a sentence as ordinary words are. */
  readonly lower: ReadonlySet<string>;
  /** Words written all in capitals or with inner capitals ("USPS", "FedEx"), not in lower case. */
  readonly capitalised: ReadonlySet<string>;
  /**
   * Words written in title case ("Ann") mid-sentence or at a sentence's start when they look like a
   * name there, not otherwise; most names, streets and cities.
   */
  readonly titleCase: ReadonlySet<string>;
}

/**
 * The words a cluster id is taken from, or null when there are too few for a template. From the
 * `normaliseBody` tokens of `body`: `#` (numbers, codes, dates, times), links, e-mail addresses,
 * symbols and emoji, words of one letter, STOP_WORDS, and the word after a greeting or an
 * introduction are set aside; runs of CJK or Thai letters become their overlapping character pairs.
 * A word is capitalised when `body` has it with a capital letter mid-sentence, or at the start of
 * a sentence followed by ",", ":", "!" or another capitalised word ("Ann, your table", "Kevin
 * Rossi, your"); such words are personalisation as often as not (names, streets, schools, cities,
 * merchants, car models). A body whose letters are mostly capitals has no case to go by: all its
 * words count as lower-case. Null unless there are at least MIN_CLUSTER_WORDS words (a pair of
 * CJK characters counting half) and MIN_LOWER_CASE_CLUSTER_WORDS lower-case ones. Message content:
 * in-process only.
 */
export function templateWords(normalised: string, body: string): TemplateWords | null {
  const tokens = normalised.split(' ');
  const lower = new Set<string>();
  let weight = 0;
  let skipNext = false;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    const skip = skipNext;
    skipNext =
      GREETINGS.has(token) ||
      INTRODUCTIONS.has(token) ||
      (token === 'is' && NAME_AFTER_IS.has(tokens[i - 1] ?? ''));
    if (skip && !STOP_WORDS.has(token)) continue;
    if (token.length < 2 || token.charCodeAt(0) === 0x3c || token === '#' || STOP_WORDS.has(token)) continue;
    const ascii = !NON_ASCII.test(token);
    if (ascii ? !ASCII_LETTER.test(token) : NO_LETTER.test(token)) continue;
    if (!ascii && UNSPACED.test(token)) {
      const chars = [...token.replace(CJK_NAME, '')];
      for (let j = 0; j + 1 < chars.length; j++) {
        const pair = chars[j]! + chars[j + 1]!;
        if (!lower.has(pair)) weight += 0.5;
        lower.add(pair);
      }
      if (chars.length === 1 && !lower.has(token)) {
        weight += 0.5;
        lower.add(token);
      }
      continue;
    }
    // Words of two letters left by the stop list are mostly abbreviations and parts of codes,
    // streets and links the tokeniser did not take ("rd", "ny", "rb.gy").
    if (token.length < 3) continue;
    if (!lower.has(token)) weight += 1;
    lower.add(token);
  }
  if (weight < MIN_CLUSTER_WORDS) return null;
  const capitalised = new Set<string>();
  const titleCase = new Set<string>();
  for (const [word, title] of capitalisedWords(body)) {
    if (title && (lower.delete(word) || capitalised.delete(word))) titleCase.add(word);
    else if (!title && lower.delete(word)) capitalised.add(word);
  }
  return lower.size < MIN_LOWER_CASE_CLUSTER_WORDS ? null : { lower, capitalised, titleCase };
}

/**
 * The words of `body` that `templateWords` sets apart for their capitals, folded as `normaliseBody`
 * folds them, each with whether it is in title case.
 */
function capitalisedWords(body: string): [string, boolean][] {
  const words: [string, boolean][] = [];
  const n = body.length;
  let upper = 0;
  let lower = 0;
  let i = 0;
  while (i < n) {
    const kind = letterKind(body, i);
    if (kind === NOT_LETTER) {
      i++;
      continue;
    }
    // A word: a run of letters and marks. Only words with a capital are kept.
    const start = i;
    let capitals = 0;
    let title = kind === UPPER_CASE;
    for (let k = kind; k !== NOT_LETTER; k = i < n ? letterKind(body, i) : NOT_LETTER) {
      if (k === UPPER_CASE) {
        capitals++;
        if (i !== start) title = false;
      } else if (k === LOWER_CASE) lower++;
      i += body.charCodeAt(i) >= 0xd800 && body.charCodeAt(i) <= 0xdbff ? 2 : 1;
    }
    upper += capitals;
    if (capitals === 0) continue;
    let before = start - 1;
    while (before >= 0 && (body[before] === ' ' || body[before] === '"' || body[before] === '\t')) before--;
    // A full stop after a short title ("Dr. Lee", "Mrs. Ortiz") does not end a sentence.
    const initial =
      before < 0 ||
      (SENTENCE_END.test(body[before]!) &&
        !(body[before] === '.' && TITLE_BEFORE_STOP.test(body.slice(Math.max(0, before - 5), before))));
    if (initial && title && !NAME_FOLLOWS.test(body.slice(i, i + 2))) continue;
    words.push([foldCase(body.slice(start, i)), title]);
  }
  // Mostly capitals: the case says nothing.
  return upper > lower ? [] : words;
}

const NOT_LETTER = 0;
const LOWER_CASE = 1;
const UPPER_CASE = 2;
const OTHER_LETTER = 3;
const LETTER_OR_MARK = /[\p{L}\p{M}]/u;

/** Whether the code point at `i` is a lower-case, upper-case or other letter (or mark), or none. */
function letterKind(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c < 0x80) return c >= 0x61 && c <= 0x7a ? LOWER_CASE : c >= 0x41 && c <= 0x5a ? UPPER_CASE : NOT_LETTER;
  const ch = String.fromCodePoint(text.codePointAt(i)!);
  if (!LETTER_OR_MARK.test(ch)) return NOT_LETTER;
  const folded = ch.toLowerCase();
  return folded !== ch ? UPPER_CASE : ch.toUpperCase() !== ch ? LOWER_CASE : OTHER_LETTER;
}

function foldCase(word: string): string {
  if (!NON_ASCII.test(word)) return word.toLowerCase();
  const folded = word.normalize('NFKC').toLowerCase();
  return folded.normalize('NFD').replace(MARKS, '').normalize('NFC');
}
