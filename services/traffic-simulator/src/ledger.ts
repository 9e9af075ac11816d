/**
 * The message ledger of a simulator run: one JSON line per MessageEvent sent, with when it was
 * sent and what a firewall would match in it (content cluster id, URL domains, keyed call-back
 * number hashes; never the body). The report replays it against the decisions in force to count
 * what enforcement let through (docs/report.md). Like the labels it is ground truth beside the
 * traffic, never on a topic.
 */
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import {
  type ContentMatcher,
  type ContentMatchKeys,
  createContentMatcher,
  NO_CONTENT_KEYS,
} from '@spamgate/core';
import type { SimMessage } from './simulation.ts';

/** One sent message. */
export interface LedgerEntry {
  /** Event time, ms since the epoch. */
  readonly t: number;
  /** Wall-clock time it was handed to Kafka (the SMSC accepting it), ms since the epoch. */
  readonly w: number;
  readonly sender: string;
  readonly recipient: string;
  /** The scenario id of its sender (labels). */
  readonly label: string;
  readonly content: ContentMatchKeys;
}

interface Line {
  t: number;
  w: number;
  s: string;
  r: string;
  l: string;
  c: string | null;
  d: readonly string[];
  k: readonly string[];
}

export interface LedgerWriter {
  /** Appends the messages of a batch sent at wall time `sentAt`. */
  write(messages: readonly SimMessage[], sentAt: number): void;
  close(): Promise<void>;
}

/**
 * Writes a ledger to `path`. `hashKey` is the deployment's SPAMGATE_HASH_KEY: without it the
 * content keys cannot be computed and every message is written without them (content matching
 * is then not replayed).
 */
export function createLedgerWriter(path: string, hashKey: string | undefined): LedgerWriter {
  const out: WriteStream = createWriteStream(path, { encoding: 'utf8' });
  const matcher: ContentMatcher | undefined = hashKey ? createContentMatcher(hashKey) : undefined;
  return {
    write(messages, sentAt) {
      let text = '';
      for (const { value: m, label } of messages) {
        const k = matcher ? matcher.keysOf(m.body, m.sender) : NO_CONTENT_KEYS;
        const line: Line = {
          t: m.eventTime,
          w: sentAt,
          s: m.sender,
          r: m.recipient,
          l: label,
          c: k.clusterId,
          d: k.urlDomains,
          k: k.callbackNumbers,
        };
        text += `${JSON.stringify(line)}\n`;
      }
      if (text) out.write(text);
    },
    close: () =>
      new Promise((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve()))),
  };
}

/** Reads a ledger, in the order it was written (send order). */
export function readLedger(path: string): LedgerEntry[] {
  const entries: LedgerEntry[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line === '') continue;
    const x = JSON.parse(line) as Line;
    entries.push({
      t: x.t,
      w: x.w,
      sender: x.s,
      recipient: x.r,
      label: x.l,
      content: { clusterId: x.c, urlDomains: x.d, callbackNumbers: x.k },
    });
  }
  return entries;
}
