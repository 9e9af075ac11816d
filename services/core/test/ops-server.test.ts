import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import {
  ConfigError,
  Counter,
  commonSettings,
  createLogger,
  createMetricsRegistry,
  createOpsServer,
  loadConfig,
  type OpsServer,
} from '../src/index.ts';

const logger = createLogger({
  service: 't',
  instanceId: 'i',
  level: 'silent',
  destination: new Writable({ write: (_c, _e, cb) => cb() }),
});
const registry = createMetricsRegistry({ service: 'ops-test', instance: 'i-1' });
const events = new Counter({ name: 'spamgate_test_events_total', help: 'Events.', registers: [registry] });
let ready: boolean | string = 'still restoring partition 3';
let server: OpsServer;
let base: string;

before(async () => {
  server = createOpsServer({ port: 0, host: '127.0.0.1', registry, logger });
  server.addReadinessCheck('state', () => ready);
  server.addReadinessCheck('kafka', async () => true);
  const { port } = await server.listen();
  base = `http://127.0.0.1:${port}`;
});
after(async () => {
  await server.close();
  await server.close();
});

test('/healthz answers 200 while the process serves', async () => {
  const res = await fetch(`${base}/healthz`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { status: 'ok' });
});

test('/readyz is 503 with the reason until every check passes, then 200', async () => {
  let res = await fetch(`${base}/readyz`);
  assert.equal(res.status, 503);
  assert.deepEqual(await res.json(), {
    status: 'not ready',
    checks: { state: { ready: false, detail: 'still restoring partition 3' }, kafka: { ready: true } },
  });
  assert.match(await (await fetch(`${base}/metrics`)).text(), /^spamgate_ready\{service="ops-test"\} 0$/m);
  ready = true;
  res = await fetch(`${base}/readyz`);
  assert.equal(res.status, 200);
  assert.equal(((await res.json()) as { status: string }).status, 'ready');
});

test('/metrics serves the service registry in Prometheus text format with default labels', async () => {
  events.inc(3);
  const res = await fetch(`${base}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  const text = await res.text();
  assert.match(text, /spamgate_test_events_total\{service="ops-test"\} 3/);
  // prom-client's standard names, and no `instance` label to clash with Prometheus's own.
  assert.match(text, /^process_resident_memory_bytes\{service="ops-test"\} \d/m);
  assert.match(text, /^nodejs_heap_size_used_bytes\{service="ops-test"\} \d/m);
  assert.match(text, /^spamgate_service_info\{instance_id="i-1",service="ops-test"\} 1$/m);
  assert.doesNotMatch(text, /[{,]instance="/);
  assert.doesNotMatch(text, /^spamgate_(process|nodejs)_/m);
  // What /readyz says, for alerting: ready here, every check having passed by now.
  assert.match(text, /^spamgate_ready\{service="ops-test"\} 1$/m);
});

test('unknown paths are 404 and other methods 405', async () => {
  assert.equal((await fetch(`${base}/nope`)).status, 404);
  assert.equal((await fetch(`${base}/healthz`, { method: 'POST' })).status, 405);
});

test('the endpoints bind loopback unless a host is given, and the setting defaults to it', async () => {
  const local = createOpsServer({ port: 0, registry, logger });
  try {
    assert.equal((await local.listen()).address, '127.0.0.1');
  } finally {
    await local.close();
  }
  assert.equal(loadConfig(commonSettings, {}).httpHost, '127.0.0.1');
  assert.equal(loadConfig(commonSettings, { SPAMGATE_HTTP_HOST: '0.0.0.0' }).httpHost, '0.0.0.0');
  assert.throws(() => loadConfig(commonSettings, { SPAMGATE_HTTP_HOST: 'a b' }), ConfigError);
});
