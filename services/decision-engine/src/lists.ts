/**
 * The Do-Not-Originate list (FCC 23-21: invalid, unallocated and unused numbers, and numbers
 * whose subscriber asked): a text file, one address per line, `#` starts a comment. Addresses
 * are compared normalised ("+1 (202) 555-0100" and "+12025550100" are one number).
 */
import { readFileSync } from 'node:fs';
import { ConfigError, normaliseAddress } from '@spamgate/core';

export interface AddressList {
  readonly version: string;
  has(address: string): boolean;
  readonly size: number;
  /** Addresses on exactly one of the two lists (normalised). */
  difference(other: AddressList): string[];
  readonly entries: ReadonlySet<string>;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

export const EMPTY_LIST: AddressList = listOf(new Set(), 'none');

function listOf(entries: ReadonlySet<string>, version: string): AddressList {
  return {
    version,
    entries,
    size: entries.size,
    has: (address) => entries.has(normaliseAddress(address)),
    difference(other) {
      const out: string[] = [];
      for (const a of entries) if (!other.entries.has(a)) out.push(a);
      for (const a of other.entries) if (!entries.has(a)) out.push(a);
      return out;
    },
  };
}

/** Parses a list file's text; every bad line is reported in one ConfigError. */
export function parseAddressList(text: string, source: string, variable: string): AddressList {
  const entries = new Set<string>();
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const content = line.replace(/#.*$/, '').trim();
    if (content === '') return;
    if (content.length > 64 || CONTROL.test(content) || /\s/.test(normaliseAddress(content)))
      problems.push(`line ${i + 1}: ${JSON.stringify(content.slice(0, 80))} is not an address`);
    else entries.add(normaliseAddress(content));
  });
  if (problems.length > 0)
    throw new ConfigError(
      problems.map((p) => ({ variable, value: source, expected: `one address per line: ${p}` })),
    );
  return listOf(entries, `${entries.size} addresses`);
}

export function loadAddressList(path: string, variable: string): AddressList {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([
      { variable, value: path, expected: `a readable file (${(err as Error).message})` },
    ]);
  }
  return parseAddressList(text, path, variable);
}
