import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seededRandom } from '@spamgate/test';
import { requestsOf } from '../src/produce.ts';

test('outputs are cut into produce requests under the size bound, in order, each record once', () => {
  const r = seededRandom(5);
  for (let round = 0; round < 50; round++) {
    const input = ['features', 'minutes', 'dead-letters', 'changelog'].map((topic) => ({
      topic,
      messages: Array.from({ length: Math.floor(r() * 300) }, (_, i) => ({
        key: `${topic}-${i}`,
        value: Buffer.alloc(Math.floor(r() ** 4 * 20_000)),
      })),
    }));
    const max = 10_000 + Math.floor(r() * 50_000);
    const requests = requestsOf(input, max);
    const size = (m: { key: string; value: Buffer }) => 70 + m.key.length + m.value.length;
    for (const request of requests) {
      const messages = request.flatMap((t) => t.messages) as { key: string; value: Buffer }[];
      const bytes = messages.reduce((n, m) => n + size(m), 0);
      assert.ok(messages.length > 0, 'no empty request');
      assert.ok(bytes <= max || messages.length === 1, `round ${round}: ${bytes} > ${max} bytes`);
    }
    const flattened = requests.flatMap((q) =>
      q.flatMap((t) => t.messages.map((m) => `${t.topic}/${String(m.key)}`)),
    );
    const expected = input.flatMap((t) => t.messages.map((m) => `${t.topic}/${m.key}`));
    assert.deepEqual(flattened, expected, `round ${round}: every record once, in order`);
  }
  const huge = [{ topic: 't', messages: [{ key: 'k', value: Buffer.alloc(2_000_000) }] }];
  assert.equal(requestsOf(huge, 1_000).length, 1, 'a record over the bound goes alone');
});
