// The schema catalog without a broker: when it reads the schema topic, what it teaches the
// codec, and how it keeps unknown fingerprints from costing a read per record.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import type { Kafka } from 'kafkajs';
import {
  createLogger,
  createSchemaCatalog,
  type SchemaCatalogOptions,
  type SchemaLearner,
  type StoredSchema,
} from '../src/index.ts';

/**
 * A codec that knows fingerprints: bytes are C3 01 + 8 fingerprint bytes, a schema's JSON is
 * {"fp": "<16 hex>", "ok": bool}; not ok is refused, as an incompatible schema is.
 */
function fakeCodec(): SchemaLearner & { known: Set<string>; refused: Set<string> } {
  const known = new Set<string>();
  const refused = new Set<string>();
  return {
    known,
    refused,
    unknownFingerprint(bytes) {
      if (bytes.length < 10 || bytes[0] !== 0xc3 || bytes[1] !== 0x01) return undefined;
      const fp = bytes.subarray(2, 10).toString('hex');
      return known.has(fp) || refused.has(fp) ? undefined : fp;
    },
    learn(json) {
      const { fp, ok } = JSON.parse(json) as { fp: string; ok: boolean };
      if (!ok) {
        refused.add(fp);
        throw new Error(`refused ${fp}`);
      }
      const added = !known.has(fp);
      known.add(fp);
      return { record: 'Thing', fingerprint: fp, added };
    },
  };
}

const fp = (n: number) => n.toString(16).padStart(16, '0');
const bytesOf = (n: number) =>
  Buffer.concat([Buffer.from([0xc3, 0x01]), Buffer.from(fp(n), 'hex'), Buffer.from([0])]);
const stored = (n: number, ok = true): [string, StoredSchema] => [
  fp(n),
  { fingerprint: fp(n), json: JSON.stringify({ fp: fp(n), ok }), record: 'Thing', version: 'v2' },
];

function harness(topic: Map<string, StoredSchema>, options: Partial<SchemaCatalogOptions> = {}) {
  const codec = fakeCodec();
  let clock = 1_000_000;
  const catalog = createSchemaCatalog({
    kafka: {} as Kafka,
    codec,
    topic: 'spamgate.schemas',
    logger: createLogger({
      service: 't',
      instanceId: 'i',
      level: 'silent',
      destination: new Writable({ write: (_c, _e, cb) => cb() }),
    }),
    now: () => clock,
    read: async () => topic,
    readBurst: Number.POSITIVE_INFINITY, // the rate limit has tests of its own
    ...options,
  });
  return {
    codec,
    catalog,
    advance(ms: number) {
      clock += ms;
    },
  };
}

test('one read of the topic learns every unknown fingerprint of a batch, and what else is new', async () => {
  const h = harness(new Map([stored(1), stored(2), stored(3)]));
  await h.catalog.learnWriters([bytesOf(1), bytesOf(2), bytesOf(1), null, Buffer.from('not avro')]);
  assert.equal(h.catalog.reads, 1);
  assert.deepEqual([...h.codec.known].sort(), [fp(1), fp(2), fp(3)]);
  await h.catalog.learnWriters([bytesOf(1), bytesOf(3)]);
  assert.equal(h.catalog.reads, 1, 'nothing unknown: no read');
});

test('values that are all known, empty or not single-object encoded read nothing', async () => {
  const h = harness(new Map([stored(1)]));
  h.codec.known.add(fp(7));
  await h.catalog.learnWriters([bytesOf(7), null, undefined, Buffer.alloc(0), Buffer.from([0xc3, 0x01, 1])]);
  assert.equal(h.catalog.reads, 0);
});

test('a fingerprint the topic lacks is looked for again only after retryUnknownAfterMs', async () => {
  const topic = new Map<string, StoredSchema>();
  const h = harness(topic, { retryUnknownAfterMs: 60_000 });
  const garbage = [bytesOf(9)];
  await h.catalog.learnWriters(garbage);
  assert.equal(h.catalog.reads, 1);
  for (let i = 0; i < 100; i++) await h.catalog.learnWriters(garbage);
  h.advance(59_999);
  await h.catalog.learnWriters(garbage);
  assert.equal(h.catalog.reads, 1, 'one read per fingerprint and period, not per record');

  // Registered meanwhile (a writer that broke the order): found at the next look.
  topic.set(...stored(9));
  h.advance(1);
  await h.catalog.learnWriters(garbage);
  assert.equal(h.catalog.reads, 2);
  assert.ok(h.codec.known.has(fp(9)));
});

test('a new unknown fingerprint is looked for even while another is held back', async () => {
  const topic = new Map<string, StoredSchema>();
  const h = harness(topic);
  await h.catalog.learnWriters([bytesOf(9)]);
  topic.set(...stored(4));
  await h.catalog.learnWriters([bytesOf(9), bytesOf(4)]);
  assert.equal(h.catalog.reads, 2);
  assert.ok(h.codec.known.has(fp(4)));
});

test('a refused schema is given to the codec once, and its records are not looked for again', async () => {
  const h = harness(new Map([stored(5, false)]));
  await h.catalog.learnWriters([bytesOf(5)]);
  assert.ok(h.codec.refused.has(fp(5)));
  h.advance(3_600_000);
  await h.catalog.learnWriters([bytesOf(5)]);
  assert.equal(h.catalog.reads, 1);
});

test('callers at once share the read in flight, and read again only for what it did not settle', async () => {
  const topic = new Map([stored(1), stored(2)]);
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  let reads = 0;
  const h = harness(topic, {
    read: async () => {
      reads++;
      await gate;
      return topic;
    },
  });
  const a = h.catalog.learnWriters([bytesOf(1)]);
  const b = h.catalog.learnWriters([bytesOf(1), bytesOf(2)]);
  release();
  await Promise.all([a, b]);
  assert.equal(reads, 1, 'the second caller found both learned by the first read');
  assert.deepEqual([...h.codec.known].sort(), [fp(1), fp(2)]);
});

test('a read that fails counts as not found, and does not throw', async () => {
  const h = harness(new Map(), {
    read: async () => {
      throw new Error('broker unreachable');
    },
  });
  await h.catalog.learnWriters([bytesOf(3)]);
  await h.catalog.learnWriters([bytesOf(3)]);
  assert.equal(h.catalog.reads, 1);
  assert.equal(h.codec.known.size, 0);
});

test('it heartbeats while a read runs, and passes on what the heartbeat throws', async () => {
  const slow = (ms: number) => async () => {
    await new Promise((r) => setTimeout(r, ms));
    return new Map([stored(1)]);
  };
  let beats = 0;
  const h = harness(new Map(), { heartbeatIntervalMs: 10, read: slow(120) });
  await h.catalog.learnWriters([bytesOf(1)], {
    heartbeat: async () => {
      beats++;
    },
  });
  assert.ok(beats >= 5, `${beats} heartbeats`);
  assert.ok(h.codec.known.has(fp(1)));

  const rebalancing = harness(new Map(), { heartbeatIntervalMs: 10, read: slow(100) });
  await assert.rejects(
    rebalancing.catalog.learnWriters([bytesOf(1)], {
      heartbeat: async () => {
        throw new Error('The group is rebalancing');
      },
    }),
    /rebalancing/,
  );
});

test('at most maxUnknown fingerprints are held back; the oldest are forgotten first', async () => {
  const h = harness(new Map(), { maxUnknown: 2 });
  await h.catalog.learnWriters([bytesOf(1)]);
  await h.catalog.learnWriters([bytesOf(2)]);
  await h.catalog.learnWriters([bytesOf(3)]);
  assert.equal(h.catalog.reads, 3);
  await h.catalog.learnWriters([bytesOf(2), bytesOf(3)]);
  assert.equal(h.catalog.reads, 3);
  await h.catalog.learnWriters([bytesOf(1)]);
  assert.equal(h.catalog.reads, 4, 'the oldest was forgotten, so it is looked for again');
});

test('reads are rate-limited: a burst, then one per interval; fingerprints met meanwhile are held back, not waited for', async () => {
  const topic = new Map<string, StoredSchema>();
  const h = harness(topic, { readBurst: 2, readIntervalMs: 10_000 });
  await h.catalog.learnWriters([bytesOf(1)]);
  await h.catalog.learnWriters([bytesOf(2)]);
  assert.equal(h.catalog.reads, 2, 'the burst');
  topic.set(...stored(9)); // registered just now
  // A third new fingerprint at once: no read left, so no read (its records are dead-lettered).
  await h.catalog.learnWriters([bytesOf(9)]);
  assert.equal(h.catalog.reads, 2);
  assert.ok(!h.codec.known.has(fp(9)));
  h.advance(9_999);
  await h.catalog.learnWriters([bytesOf(9)]);
  assert.equal(h.catalog.reads, 2, 'held back for the interval');
  h.advance(1);
  await h.catalog.learnWriters([bytesOf(9)]);
  assert.equal(h.catalog.reads, 3, 'one read earned back per interval');
  assert.ok(h.codec.known.has(fp(9)));
  // A stream of made-up fingerprints, each new, reads once per interval however many batches.
  for (let i = 0; i < 100; i++) {
    h.advance(100);
    await h.catalog.learnWriters([bytesOf(1_000 + i)]);
  }
  assert.equal(h.catalog.reads, 4, '10 s of batches, one read');
});

test('a read that takes too long is abandoned, its reader told to stop, and counts as not found', async () => {
  let signal: AbortSignal | undefined;
  const h = harness(new Map(), {
    readTimeoutMs: 50,
    read: (s) => {
      signal = s;
      return new Promise(() => {}); // a broker that never answers
    },
  });
  const started = Date.now();
  await h.catalog.learnWriters([bytesOf(1)]);
  assert.ok(Date.now() - started < 5_000, 'not waited for beyond the timeout');
  assert.equal(signal?.aborted, true, 'the reader was told to stop');
  assert.match(String((signal?.reason as Error | undefined)?.message), /took over 50 ms/);
  assert.equal(h.codec.known.size, 0);
  await h.catalog.learnWriters([bytesOf(1)]);
  assert.equal(h.catalog.reads, 1, 'not read again before retryUnknownAfterMs');
});
