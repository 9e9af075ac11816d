import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLifecycle, createLogger } from '../src/index.ts';

const quiet = () =>
  createLogger({
    service: 't',
    instanceId: 'i',
    level: 'silent',
    destination: new Writable({ write: (_c, _e, cb) => cb() }),
  });

test('shutdown runs the steps once, last registered first', async () => {
  const order: string[] = [];
  const lc = createLifecycle({ logger: quiet(), timeoutMs: 1000, exit: () => {} });
  lc.onShutdown('ops endpoint', () => {
    order.push('ops');
  });
  lc.onShutdown('producer', async () => {
    order.push('producer');
  });
  lc.onShutdown('consumer', async () => {
    await new Promise((r) => setTimeout(r, 20));
    order.push('consumer');
  });
  assert.equal(lc.isStopping(), false);
  const [a, b] = await Promise.all([lc.shutdown('test'), lc.shutdown('again')]);
  assert.deepEqual(order, ['consumer', 'producer', 'ops']);
  assert.equal(a, 0);
  assert.equal(b, 0);
  assert.equal(lc.isStopping(), true);
  assert.equal(await lc.stopping, 'test');
});

test('a failing step does not stop the others, and the exit code says it failed', async () => {
  const order: string[] = [];
  const lc = createLifecycle({ logger: quiet(), timeoutMs: 1000, exit: () => {} });
  lc.onShutdown('a', () => {
    order.push('a');
  });
  lc.onShutdown('b', () => {
    throw new Error('flush failed');
  });
  assert.equal(await lc.shutdown('test'), 1);
  assert.deepEqual(order, ['a']);
});

test('shutdown is bounded: a step that hangs yields exit code 1 after the timeout', async () => {
  const lc = createLifecycle({ logger: quiet(), timeoutMs: 50, exit: () => {} });
  lc.onShutdown('hangs', () => new Promise(() => {}));
  const started = Date.now();
  assert.equal(await lc.shutdown('test'), 1);
  assert.ok(Date.now() - started < 1000);
});

test('SIGTERM shuts down then exits with the code; a second signal exits at once', async () => {
  const proc = new EventEmitter();
  const codes: number[] = [];
  let release!: () => void;
  const lc = createLifecycle({
    logger: quiet(),
    timeoutMs: 5000,
    exit: (c) => codes.push(c),
    process: proc as unknown as NodeJS.Process,
  });
  lc.onShutdown('slow', () => new Promise<void>((r) => (release = r)));
  lc.installSignalHandlers();
  proc.emit('SIGTERM');
  await new Promise((r) => setImmediate(r));
  proc.emit('SIGINT');
  assert.deepEqual(codes, [130]);
  release();
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(codes, [130, 0]);
});
