/**
 * The privacy scan (issue 19): after traffic ran through the pipeline, look for message text and
 * clear recipient numbers everywhere spamgate writes: every topic but its inputs, every
 * ClickHouse table of the run, every log line. What to look for is read from the input topic
 * itself: each body, and each number that only ever received (a number that also sends, or that
 * feedback is about, is a sender, which enforcement needs in clear). README, "Privacy".
 */
import { readFileSync } from 'node:fs';
import { type ClickHouseClient, readToEnd, sql, sqlTable } from '@spamgate/core';
import { createCodec } from '@spamgate/schemas';
import type { Kafka } from 'kafkajs';
import { uniqueName } from './helpers.ts';

/** Bodies shorter than this are not looked for ("STOP", "ok"): they say nothing about anyone. */
const BODY_WINDOW = 20;
/** Runs of text without control characters (bytes read as text break around binary fields). */
const PRINTABLE_RUN = new RegExp(`[^\\u0000-\\u001f]{${BODY_WINDOW},}`, 'g');

export interface Leak {
  /** Topic (key, value or headers), table or log file. */
  readonly place: string;
  readonly kind: 'body' | 'recipient number';
  /** How many times it was found there. */
  readonly count: number;
}

/** What the input held: the bodies, and the numbers that received but never sent. */
export interface Secrets {
  readonly bodyWindows: ReadonlySet<string>;
  readonly numbers: ReadonlySet<string>;
  readonly numberLengths: readonly number[];
}

export function secretsOf(
  bodies: Iterable<string>,
  recipients: Iterable<string>,
  senders: Iterable<string>,
): Secrets {
  const sending = new Set([...senders].map(digitsOf));
  const numbers = new Set<string>();
  for (const r of recipients) {
    const d = digitsOf(r);
    if (d.length >= 8 && !sending.has(d)) numbers.add(d);
  }
  const bodyWindows = new Set<string>();
  for (const b of bodies) if (b.length >= BODY_WINDOW) bodyWindows.add(b.slice(0, BODY_WINDOW));
  return { bodyWindows, numbers, numberLengths: [...new Set([...numbers].map((n) => n.length))] };
}

function digitsOf(address: string): string {
  return address.replace(/\D/g, '');
}

/** How often `text` holds a body or a number of `secrets`. */
export function findSecrets(text: string, secrets: Secrets): { bodies: number; numbers: number } {
  let numbers = 0;
  for (const run of text.matchAll(/\d{8,}/g)) {
    const digits = run[0];
    for (const n of secrets.numberLengths)
      for (let i = 0; i + n <= digits.length; i++) if (secrets.numbers.has(digits.slice(i, i + n))) numbers++;
  }
  let bodies = 0;
  if (secrets.bodyWindows.size > 0)
    for (const run of text.matchAll(PRINTABLE_RUN)) {
      const s = run[0];
      for (let i = 0; i + BODY_WINDOW <= s.length; i++)
        if (secrets.bodyWindows.has(s.slice(i, i + BODY_WINDOW))) bodies++;
    }
  return { bodies, numbers };
}

/** The bodies and addresses of the input topics, as the scan's needles. */
export async function readSecrets(
  kafka: Kafka,
  messagesTopic: string,
  feedbackTopic: string,
): Promise<Secrets> {
  const codec = createCodec();
  const bodies: string[] = [];
  const recipients: string[] = [];
  const senders: string[] = [];
  await readToEnd(kafka, {
    topic: messagesTopic,
    groupId: uniqueName('privacy-scan'),
    onRecords: ({ messages }) => {
      for (const m of messages) {
        if (!m.value) continue;
        const e = codec.decode('MessageEvent', m.value);
        if (e.body !== null) bodies.push(e.body);
        recipients.push(e.recipient);
        senders.push(e.sender);
      }
    },
  });
  await readToEnd(kafka, {
    topic: feedbackTopic,
    groupId: uniqueName('privacy-scan'),
    onRecords: ({ messages }) => {
      for (const m of messages) {
        if (!m.value) continue;
        const f = codec.decode('FeedbackEvent', m.value);
        if (f.recipient !== null) recipients.push(f.recipient);
        // The sender a report or a failure is about is one enforcement judges, even if it sent
        // nothing in this run: decisions and features name it.
        senders.push(f.sender);
      }
    },
  });
  return secretsOf(bodies, recipients, senders);
}

/**
 * Where `secrets` show up in `topics` (keys, values and headers, as bytes read as Latin-1 and
 * UTF-8), the run's tables and `logFiles`.
 */
export async function scanForLeaks(o: {
  readonly kafka: Kafka;
  readonly topics: readonly string[];
  /** The run's tables: every table of `database`. */
  readonly clickhouse?: ClickHouseClient;
  readonly database?: string;
  /** Logs and any other file spamgate wrote (the report). */
  readonly files?: readonly string[];
  readonly secrets: Secrets;
}): Promise<Leak[]> {
  const leaks: Leak[] = [];
  const note = (place: string, found: { bodies: number; numbers: number }) => {
    if (found.bodies > 0) leaks.push({ place, kind: 'body', count: found.bodies });
    if (found.numbers > 0) leaks.push({ place, kind: 'recipient number', count: found.numbers });
  };
  const both = (b: Buffer) => `${b.toString('latin1')}\n${b.toString('utf8')}`;
  for (const topic of o.topics) {
    const parts = { key: [] as string[], value: [] as string[], headers: [] as string[] };
    await readToEnd(o.kafka, {
      topic,
      groupId: uniqueName('privacy-scan'),
      onRecords: ({ messages }) => {
        for (const m of messages) {
          if (m.key) parts.key.push(both(m.key));
          if (m.value) parts.value.push(both(m.value));
          for (const v of Object.values(m.headers ?? {}))
            if (Buffer.isBuffer(v)) parts.headers.push(both(v));
            else if (typeof v === 'string') parts.headers.push(v);
        }
      },
    });
    for (const [part, texts] of Object.entries(parts))
      note(`${topic} (${part})`, findSecrets(texts.join('\n'), o.secrets));
  }
  const { clickhouse, database } = o;
  if (clickhouse && database) {
    const tables = await (
      await clickhouse.query({
        query: sql`SELECT name FROM system.tables WHERE database = ${database} ORDER BY name`,
        format: 'JSONEachRow',
      })
    ).json<{ name: string }>();
    for (const { name } of tables) {
      const text = await (
        await clickhouse.query({
          query: sql`SELECT * FROM ${sqlTable(database, name)}`,
          format: 'TabSeparated',
        })
      ).text();
      note(`table ${name}`, findSecrets(text, o.secrets));
    }
  }
  for (const file of o.files ?? []) note(`file ${file}`, findSecrets(readFileSync(file, 'utf8'), o.secrets));
  return leaks;
}
