/**
 * `npm start` (until the demo exists): after infra/local brought the servers up, prove that
 * they serve what spamgate needs (metadata, group and transaction coordinators, SQL) and print
 * one line each. Exit code 1 if either is not healthy.
 */
import {
  createClickHouse,
  createKafka,
  createLogger,
  describeError,
  waitForClickHouse,
  waitForKafka,
} from '@spamgate/core';

const brokers = (
  process.env.SPAMGATE_KAFKA_BROKERS ?? `127.0.0.1:${process.env.SPAMGATE_KAFKA_PORT || '9092'}`
).split(',');
const clickhouseUrl =
  process.env.SPAMGATE_CLICKHOUSE_URL ??
  `http://127.0.0.1:${process.env.SPAMGATE_CLICKHOUSE_HTTP_PORT || '8123'}`;
const logger = createLogger({ service: 'infra-check', instanceId: String(process.pid), level: 'error' });

let healthy = true;
const kafka = createKafka({ brokers, clientId: 'spamgate-infra-check', logger });
try {
  await waitForKafka(kafka, { timeoutMs: 60_000 });
  const admin = kafka.admin();
  await admin.connect();
  const cluster = await admin.describeCluster();
  const topics = (await admin.listTopics()).filter((t) => !t.startsWith('__'));
  await admin.disconnect();
  console.log(
    `kafka       healthy  ${brokers.join(',')}  cluster ${cluster.clusterId}, ${cluster.brokers.length} broker(s), ` +
      `${topics.length} topic(s); group and transaction coordinators answer`,
  );
} catch (err) {
  healthy = false;
  console.log(`kafka       UNHEALTHY ${brokers.join(',')}: ${describeError(err).message}`);
}

const clickhouse = createClickHouse({ url: clickhouseUrl, logger });
try {
  const version = await waitForClickHouse(clickhouse, { timeoutMs: 60_000 });
  console.log(`clickhouse  healthy  ${clickhouseUrl}  ClickHouse ${version}`);
} catch (err) {
  healthy = false;
  console.log(`clickhouse  UNHEALTHY ${clickhouseUrl}: ${describeError(err).message}`);
} finally {
  await clickhouse.close();
}

if (healthy) {
  console.log('\nspamgate servers are up. Stop them with `npm run stop`; run the tests with `npm test`.');
}
process.exitCode = healthy ? 0 : 1;
