/**
 * spamgate's schema registry without a registry service: the compacted topic spamgate.schemas
 * holds every writer schema by fingerprint (key: the 16 hex digits of the CRC-64-AVRO
 * fingerprint that single-object encoding writes after C3 01; value: the schema's JSON text;
 * headers: record and version), the idea of Confluent's `_schemas` topic.
 *
 * - `registerSchemas`: a service publishes the schemas of what it writes before it writes any,
 *   so a reader of an older release can always find the schema of a newer record.
 * - `publishMissingSchemas`: `npm run topics` publishes every known version, skipping those
 *   already there.
 * - `createSchemaCatalog`: a reader that meets bytes with a fingerprint it does not know reads
 *   the topic to its end and learns what is new, so a record written by a newer release is
 *   resolved to the reader's schema instead of dead-lettered. Reads are rate-limited, time out,
 *   and use no consumer group (direct-read.ts).
 *
 * Core knows nothing of Avro: the codec (@spamgate/schemas) is passed in as a SchemaLearner.
 */
import { type Kafka, Partitioners } from 'kafkajs';
import { readTopicDirect } from './direct-read.ts';
import { describeError, SpamgateError } from './errors.ts';
import type { Logger } from './logger.ts';

/** The catalog name of the schema topic (infra/kafka/topics.ts), before any prefix. */
export const SCHEMAS_TOPIC = 'spamgate.schemas';

/** Headers of a schema record: which record and version it is (for people; readers use key and value). */
export const SCHEMA_HEADERS = Object.freeze({
  record: 'spamgate-record',
  version: 'spamgate-schema-version',
});

/** A writer schema as the schema topic holds it (what @spamgate/schemas' schemaRegistrations lists). */
export interface WriterSchema {
  /** Record name without namespace. */
  readonly record: string;
  /** 'v<N>' for a released version, 'unreleased' for a working copy. */
  readonly version: string;
  /** 16 hex digits: the record key. */
  readonly fingerprint: string;
  /** The schema's JSON text: the record value. */
  readonly json: string;
}

/** A writer schema as read back from the topic. */
export interface StoredSchema {
  readonly fingerprint: string;
  readonly json: string;
  /** From the headers; '' when absent. */
  readonly record: string;
  readonly version: string;
}

/** What the schema catalog needs of a codec (@spamgate/schemas' Codec has it). */
export interface SchemaLearner {
  /** The fingerprint of bytes whose writer schema is neither known nor refused; undefined otherwise. */
  unknownFingerprint(bytes: Buffer): string | undefined;
  /** Adds a writer schema from its JSON text; throws when it is refused. */
  learn(schemaJson: string): {
    readonly record: string;
    readonly fingerprint: string;
    readonly added: boolean;
  };
}

/** The schemas could not be written to the schema topic; the service must not produce records of them. */
export class SchemaRegistrationError extends SpamgateError {
  override name = 'SchemaRegistrationError';
  constructor(topic: string, cause: unknown) {
    super(
      `could not register writer schemas on ${topic} (is it provisioned? \`npm run topics\`): ${describeError(cause).message}`,
      { code: 'SCHEMA_REGISTRATION_FAILED', retriable: true, cause },
    );
  }
}

function headerText(value: Buffer | string | (Buffer | string)[] | undefined): string {
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? '' : first.toString();
}

/**
 * Writes `schemas` to the schema topic and returns once every replica in sync has them
 * (acks=all, idempotent). Writing a schema already there is harmless: same key, same value,
 * compacted away. Throws SchemaRegistrationError when the topic does not take them.
 */
export async function registerSchemas(
  kafka: Kafka,
  options: { readonly topic: string; readonly schemas: readonly WriterSchema[]; readonly logger: Logger },
): Promise<void> {
  const { topic, schemas, logger } = options;
  if (schemas.length === 0) return;
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  try {
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: schemas.map((s) => ({
        key: s.fingerprint,
        value: s.json,
        headers: { [SCHEMA_HEADERS.record]: s.record, [SCHEMA_HEADERS.version]: s.version },
      })),
    });
  } catch (err) {
    throw new SchemaRegistrationError(topic, err);
  } finally {
    await producer.disconnect().catch(() => {});
  }
  logger.info(
    { topic, schemas: schemas.map((s) => `${s.record} ${s.version} ${s.fingerprint}`) },
    'writer schemas registered',
  );
}

/** The schema topic as it stands (latest value per key, tombstones applied), by fingerprint. */
export async function readSchemaTopic(
  kafka: Kafka,
  options: { readonly topic: string; readonly signal?: AbortSignal },
): Promise<Map<string, StoredSchema>> {
  const out = new Map<string, StoredSchema>();
  await readTopicDirect(kafka, {
    topic: options.topic,
    ...(options.signal ? { signal: options.signal } : {}),
    onRecords: ({ messages }) => {
      for (const m of messages) {
        const fingerprint = m.key?.toString('utf8') ?? '';
        if (m.value === null) {
          out.delete(fingerprint);
          continue;
        }
        out.set(fingerprint, {
          fingerprint,
          json: m.value.toString('utf8'),
          record: headerText(m.headers?.[SCHEMA_HEADERS.record]),
          version: headerText(m.headers?.[SCHEMA_HEADERS.version]),
        });
      }
    },
  });
  return out;
}

/**
 * Publishes the schemas the topic does not hold yet (by key): what `npm run topics` does with
 * every known version, so running it again writes nothing.
 */
export async function publishMissingSchemas(
  kafka: Kafka,
  options: {
    readonly topic: string;
    readonly schemas: readonly WriterSchema[];
    readonly logger: Logger;
  },
): Promise<{ readonly published: readonly WriterSchema[]; readonly present: readonly WriterSchema[] }> {
  const there = await readSchemaTopic(kafka, options);
  const published = options.schemas.filter((s) => !there.has(s.fingerprint));
  const present = options.schemas.filter((s) => there.has(s.fingerprint));
  await registerSchemas(kafka, { topic: options.topic, schemas: published, logger: options.logger });
  return { published, present };
}

export interface SchemaCatalogOptions {
  readonly kafka: Kafka;
  /** The codec that learns the schemas read. */
  readonly codec: SchemaLearner;
  /** The schema topic under the deployment prefix. */
  readonly topic: string;
  readonly logger: Logger;
  /**
   * How long a fingerprint the topic did not have is not looked for again, ms (default 60 s):
   * a stream of records with made-up fingerprints costs one read per fingerprint and period,
   * not one per record.
   */
  readonly retryUnknownAfterMs?: number;
  /**
   * Reads of the topic allowed at once (default 3) and the time it takes to earn one back, ms
   * (default 10 s): a token bucket. A deploy's few new schemas read at once; a stream of made-up
   * fingerprints, each new, costs one read per interval, not one per batch. While no read is
   * allowed, records of unknown fingerprints are dead-lettered as UNKNOWN_FINGERPRINT, never
   * held: a partition does not wait on the schema topic.
   */
  readonly readBurst?: number;
  readonly readIntervalMs?: number;
  /** Longest a read of the topic may take, ms (default 15 s); then it is abandoned as failed. */
  readonly readTimeoutMs?: number;
  /** Most fingerprints remembered as unknown (default 10,000); the oldest are forgotten first. */
  readonly maxUnknown?: number;
  /** Interval of the heartbeat calls while a read runs, ms (default 3 s). */
  readonly heartbeatIntervalMs?: number;
  /** Wall clock, ms; tests may pass another. */
  readonly now?: () => number;
  /** Reads the topic (readSchemaTopic by default), stopping when `signal` aborts; tests pass a fake. */
  readonly read?: (signal: AbortSignal) => Promise<ReadonlyMap<string, StoredSchema>>;
}

export interface SchemaCatalog {
  /**
   * Makes sure the codec knows the writer schema of every value it can: when some carry a
   * fingerprint it does not know (and that was not looked for within retryUnknownAfterMs), reads
   * the schema topic to its end once and learns what is new. Values whose fingerprint is still
   * unknown afterwards fail to decode as before (UNKNOWN_FINGERPRINT). Calls `heartbeat` every
   * heartbeatIntervalMs while reading (a consumer's eachBatch must keep its session), and throws only what it
   * throws; a failed read is logged and counts as not found.
   */
  learnWriters(
    values: Iterable<Buffer | null | undefined>,
    options?: { readonly heartbeat?: () => Promise<void> },
  ): Promise<void>;
  /** Reads of the topic so far. */
  readonly reads: number;
}

export function createSchemaCatalog(options: SchemaCatalogOptions): SchemaCatalog {
  const { kafka, codec, topic, logger } = options;
  const now = options.now ?? Date.now;
  const retryAfterMs = options.retryUnknownAfterMs ?? 60_000;
  const maxUnknown = options.maxUnknown ?? 10_000;
  const heartbeatMs = options.heartbeatIntervalMs ?? 3_000;
  const readBurst = options.readBurst ?? 3;
  const readIntervalMs = options.readIntervalMs ?? 10_000;
  const readTimeoutMs = options.readTimeoutMs ?? 15_000;
  const read = options.read ?? ((signal: AbortSignal) => readSchemaTopic(kafka, { topic, signal }));
  /** Reads allowed now (the token bucket), as of `tokensAt`. */
  let tokens = readBurst;
  let tokensAt = now();
  /** Fingerprints a read did not find, and when they may be looked for again; oldest first. */
  const unknownUntil = new Map<string, number>();
  /**
   * Fingerprints met while no read was allowed, and when they may be looked for again; oldest
   * first. Apart from unknownUntil, so that each map's times only grow and expiry stops early.
   */
  const limitedUntil = new Map<string, number>();
  /** Keys of the topic already given to the codec (learned or refused): not given again. */
  const seen = new Set<string>();
  /** Reads run one at a time: a caller waits for the read in flight, then reads again if need be. */
  let chain: Promise<void> = Promise.resolve();
  let reads = 0;

  function forgetExpired(): void {
    const t = now();
    for (const held of [unknownUntil, limitedUntil]) {
      for (const [fp, until] of held) {
        if (until > t) break;
        held.delete(fp);
      }
    }
  }

  const heldBack = (fp: string) => unknownUntil.has(fp) || limitedUntil.has(fp);

  /** The values' unknown fingerprints not looked for lately, each with one of its values. */
  function wanted(values: Iterable<Buffer | null | undefined>): Map<string, Buffer> {
    forgetExpired();
    const out = new Map<string, Buffer>();
    for (const v of values) {
      if (!v) continue;
      const fp = codec.unknownFingerprint(v);
      if (fp !== undefined && !heldBack(fp) && !out.has(fp)) out.set(fp, v);
    }
    return out;
  }

  /** Takes a read from the bucket; false when none is left. */
  function mayRead(): boolean {
    const t = now();
    tokens = Math.min(readBurst, tokens + (t - tokensAt) / readIntervalMs);
    tokensAt = t;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  }

  /** Reads the topic, abandoned (and the reader stopped) after readTimeoutMs. */
  async function readWithin(): Promise<ReadonlyMap<string, StoredSchema>> {
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new SpamgateError(`reading ${topic} took over ${readTimeoutMs} ms`, {
          code: 'SCHEMA_READ_TIMEOUT',
          retriable: true,
        });
        abort.abort(err);
        reject(err);
      }, readTimeoutMs);
    });
    try {
      return await Promise.race([read(abort.signal), timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  async function refresh(asked: Map<string, Buffer>): Promise<void> {
    // A read that finished while this one waited may have settled them: it began after the
    // records were read, and a writer registers its schema before it writes, so a fingerprint
    // it did not find is not on the topic.
    const todo = [...asked].filter(([fp, v]) => !heldBack(fp) && codec.unknownFingerprint(v));
    if (todo.length === 0) return;
    if (!mayRead()) {
      for (const [fp] of todo) limitedUntil.set(fp, now() + readIntervalMs);
      for (const fp of limitedUntil.keys()) {
        if (limitedUntil.size <= maxUnknown) break;
        limitedUntil.delete(fp);
      }
      logger.warn(
        { topic, missing: todo.slice(0, 10).map(([fp]) => fp), count: todo.length, readIntervalMs },
        'schema topic reads rate-limited: records of these writer schemas are dead-lettered (UNKNOWN_FINGERPRINT)',
      );
      return;
    }
    reads++;
    const started = now();
    let stored: ReadonlyMap<string, StoredSchema> | undefined;
    let failure: unknown;
    try {
      stored = await readWithin();
    } catch (err) {
      failure = err;
    }
    for (const s of stored?.values() ?? []) {
      if (seen.has(s.fingerprint)) continue;
      seen.add(s.fingerprint);
      try {
        const learned = codec.learn(s.json);
        if (learned.added)
          logger.info(
            { topic, record: learned.record, version: s.version, fingerprint: learned.fingerprint },
            'learned a writer schema',
          );
      } catch (err) {
        logger.error(
          {
            topic,
            record: s.record,
            version: s.version,
            fingerprint: s.fingerprint,
            err: describeError(err),
          },
          'writer schema refused; records written with it are dead-lettered',
        );
      }
    }
    const missing = todo.filter(([, v]) => codec.unknownFingerprint(v) !== undefined).map(([fp]) => fp);
    for (const fp of missing) {
      unknownUntil.delete(fp);
      unknownUntil.set(fp, now() + retryAfterMs);
    }
    for (const fp of unknownUntil.keys()) {
      if (unknownUntil.size <= maxUnknown) break;
      unknownUntil.delete(fp);
    }
    const fields = {
      topic,
      ms: now() - started,
      learned: todo.length - missing.length,
      missing,
      retryAfterMs,
    };
    if (failure !== undefined)
      logger.error(
        { ...fields, err: describeError(failure) },
        'could not read the schema topic: records of the writer schemas missing are dead-lettered (UNKNOWN_FINGERPRINT)',
      );
    else if (missing.length > 0)
      logger.warn(
        fields,
        'writer schemas registered nowhere: their records are dead-lettered (UNKNOWN_FINGERPRINT)',
      );
    else logger.info(fields, 'schema topic read');
  }

  async function whileHeartbeating(work: Promise<void>, heartbeat: () => Promise<void>): Promise<void> {
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const tick = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), heartbeatMs);
      });
      try {
        if (await Promise.race([work.then(() => true), tick])) return;
      } finally {
        clearTimeout(timer);
      }
      await heartbeat();
    }
  }

  return {
    get reads() {
      return reads;
    },
    async learnWriters(values, { heartbeat } = {}) {
      const asked = wanted(values);
      if (asked.size === 0) return;
      const work = chain
        .then(() => refresh(asked))
        .catch((err: unknown) =>
          logger.error({ topic, err: describeError(err) }, 'learning writer schemas failed'),
        );
      chain = work;
      await (heartbeat ? whileHeartbeating(work, heartbeat) : work);
    },
  };
}
