/**
 * Hosts and registrable domains of the URLs found in message bodies. There is no copy of the
 * Public Suffix List here (it cannot be downloaded at run time and a vendored copy goes stale), so
 * `registrableDomain` is a documented approximation of it; see that function.
 */
import { domainToASCII } from 'node:url';

const words = (list: string): readonly string[] => list.split(' ');

/**
 * Second-level labels that country-code registries sell under (co.uk, com.au, co.jp, ne.jp, org.br,
 * gov.uk, ac.nz, ...): under a two-letter TLD these make the registrable domain three labels long.
 */
const CC_SECOND_LEVEL: ReadonlySet<string> = new Set(
  words('ac co com edu gen go gob gov int ltd me mil ne net nhs nic nom or org plc sch web'),
);

/**
 * Private suffixes of the Public Suffix List for hosting, page-builder and tunnel platforms that
 * phishing uses heavily. Without them every site on github.io or herokuapp.com would share one
 * domain reputation, and one phishing page would taint every legitimate site on the platform.
 */
const PLATFORM_SUFFIXES: ReadonlySet<string> = new Set(
  words(
    '000webhostapp.com appspot.com azurewebsites.net blogspot.com cloudfront.net duckdns.org ' +
      'firebaseapp.com github.io gitlab.io glitch.me herokuapp.com myshopify.com netlify.app ' +
      'ngrok-free.app ngrok.io onrender.com pages.dev r2.dev s3.amazonaws.com vercel.app web.app ' +
      'weebly.com wixsite.com workers.dev',
  ),
);

/**
 * Top-level domains recognised in a bare host written without a scheme or `www.` ("bit.ly/abc"),
 * when a path, query or fragment follows. Without a scheme, any word.word could be a host, so only
 * TLDs seen in real links count; an unlisted TLD needs `http(s)://` or `www.`.
 */
const PATH_TLDS = words(
  'am app ar art as at be bid bond by cam click cloud date digital do email es fit fm fun go ' +
    'guru help host id in ink is it link live loan lol me men mobi mom monster mov my name new no ' +
    'one party pro rest review run sale se services shop site so space store support to today top ' +
    'trade us vip win work zip',
);

/**
 * TLDs that are not also common words or abbreviations, so "word.tld" is taken for a host even
 * with nothing after it ("Visit paypal-secure.com now"). TLDs only in PATH_TLDS ("me", "it", "in",
 * "shop", "live", ...) collide with run-on sentences ("call.me", "love.it") and need a path.
 */
const BARE_TLDS = words(
  'ai asia au biz br buzz ca cc cf cfd ch club cn co com cyou de edu eu fr ga gd gl gov gq icu ' +
    'ie info io jp kr la ly ml mx net ng nl nz online org ph pk pl pw ru sbs sh su tech tk tr tv ' +
    'ua uk vn website ws xin xyz za',
);

const BARE_TLD_SET = new Set(BARE_TLDS);

/** Regular-expression alternation of every TLD a bare host may end in, longest first. */
export const BARE_HOST_TLD_PATTERN = [...BARE_TLDS, ...PATH_TLDS]
  .sort((a, b) => b.length - a.length)
  .join('|');

/**
 * Whether a bare host (no scheme, no `www.`) matched in a body is taken for a link: always with a
 * path, query or fragment after it, otherwise only when its TLD is not also a common word.
 */
export function isBareHostLink(host: string, hasPath: boolean): boolean {
  return hasPath || BARE_TLD_SET.has(host.slice(host.lastIndexOf('.') + 1));
}

const HOST_PREFIX = /^(?:\[[0-9a-f:.]+\]|[\p{L}\p{N}\p{M}_-]+(?:\.[\p{L}\p{N}\p{M}_-]+)*)/u;
const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching ASCII is the point
const NON_ASCII = /[^\x00-\x7f]/;

/**
 * The host of a URL as written in a body (lower-case input, with or without scheme): what follows
 * the scheme up to the path, with any `user:password@` dropped (so "http://paypal.com@evil.example/"
 * is evil.example, as a browser reads it), the port and trailing dots dropped, and international
 * names converted to ASCII (punycode). Null when nothing host-like is there.
 */
export function urlHost(url: string): string | null {
  let rest = url.replace(SCHEME, '');
  const end = rest.search(/[/?#\\]/);
  if (end >= 0) rest = rest.slice(0, end);
  rest = rest.slice(rest.lastIndexOf('@') + 1);
  const host = HOST_PREFIX.exec(rest)?.[0].replace(/\.+$/, '');
  if (!host) return null;
  if (!NON_ASCII.test(host)) return host;
  const ascii = domainToASCII(host);
  return ascii === '' ? null : ascii;
}

/**
 * The registrable domain of a host (the part a registrant buys: bank.example for
 * login.bank.example), lower-case, trailing dot removed. An approximation of the Public Suffix List:
 *
 * - IP addresses and hosts of one or two labels are returned whole;
 * - under a platform suffix from a short built-in list (github.io, herokuapp.com, s3.amazonaws.com,
 *   ...) one label more than the suffix is kept, so each site on the platform is its own domain;
 * - under a two-letter country TLD whose second-level label is a registry category (co.uk, com.au,
 *   ne.jp, gov.uk, ...) the last three labels are kept;
 * - otherwise the last two.
 *
 * It errs on the side of too short for unlisted multi-label suffixes (e.g. "city.kawasaki.jp"
 * gives "kawasaki.jp"), which groups unrelated sites; it never splits one registrant's site.
 */
export function registrableDomain(host: string): string {
  const h = host.toLowerCase().replace(/\.+$/, '');
  if (h.startsWith('[') || /^\d{1,3}(?:\.\d{1,3}){3}$/.test(h)) return h;
  const labels = h.split('.');
  const n = labels.length;
  if (n <= 2) return h;
  const keep = (count: number): string => labels.slice(Math.max(0, n - count)).join('.');
  if (PLATFORM_SUFFIXES.has(keep(3))) return keep(4);
  if (PLATFORM_SUFFIXES.has(keep(2))) return keep(3);
  const tld = labels[n - 1]!;
  if (tld.length === 2 && CC_SECOND_LEVEL.has(labels[n - 2]!)) return keep(3);
  return keep(2);
}
