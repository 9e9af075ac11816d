/**
 * Ceiling B of the comparison bench: a kafkajs consumer that only reads the input topics, decodes
 * every value with spamgate's Avro codec and counts. It runs as its own process so that its CPU
 * and memory are measured as the engines' are. Prints `JOINED <ms>` when its group is joined and
 * `DONE <records> <ms>` when it has decoded BENCH_TOTAL records, then exits 0.
 *
 * Environment: BENCH_BROKERS, BENCH_TOPICS (comma-separated: messages topic first, then the
 * feedback topic), BENCH_GROUP, BENCH_TOTAL.
 */
import { createKafka, createLogger } from '@spamgate/core';
import { createCodec } from '@spamgate/schemas';

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};
const [messagesTopic, feedbackTopic] = env('BENCH_TOPICS').split(',');
const total = Number(env('BENCH_TOTAL'));
const codec = createCodec();
const kafka = createKafka({
  brokers: env('BENCH_BROKERS').split(','),
  clientId: 'spamgate-bench-decode-only',
  logger: createLogger({ service: 'bench-decode-only', instanceId: String(process.pid), level: 'error' }),
});
// The feature engine's fetch settings (read_committed, 1 MiB per partition), so the two read alike.
const consumer = kafka.consumer({
  groupId: env('BENCH_GROUP'),
  readUncommitted: false,
  maxBytesPerPartition: 1_048_576,
});
await consumer.connect();
await consumer.subscribe({ topics: [messagesTopic!, feedbackTopic!], fromBeginning: true });
consumer.on(consumer.events.GROUP_JOIN, () => process.stdout.write(`JOINED ${Date.now()}\n`));
consumer.on(consumer.events.CRASH, ({ payload }) => {
  process.stderr.write(`consumer crashed: ${String(payload.error)}\n`);
  process.exit(1);
});
let count = 0;
let bytes = 0;
await new Promise<void>((resolve) => {
  void consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      const record = batch.topic === messagesTopic ? 'MessageEvent' : 'FeedbackEvent';
      for (const m of batch.messages) {
        if (m.value) {
          codec.decode(record, m.value);
          bytes += m.value.length;
        }
        count++;
      }
      if (count >= total) resolve();
    },
  });
});
process.stdout.write(`DONE ${count} ${Date.now()} ${bytes}\n`);
await consumer.disconnect();
process.exit(0);
