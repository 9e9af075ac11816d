// The changelog forms of a sender (engine/entry-codec.ts, engine/light-codec.ts) with their
// recent URL domains, and bytes written before URL domains existed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StateCodecError } from '@spamgate/core';
import { seededRandom } from '@spamgate/test';
import {
  decodePartitionMeta,
  decodeSenderEntry,
  encodePartitionMeta,
  encodeSenderEntry,
} from '../src/engine/entry-codec.ts';
import { createFactKeys, messageFacts } from '../src/engine/facts.ts';
import {
  decodeLight,
  decodeLightBytes,
  encodeLight,
  LIGHT_TAG,
  LIGHT_TAG_WIDE,
  peekLight,
  peekLightBytes,
} from '../src/engine/light-codec.ts';
import { createPartitionProcessor } from '../src/engine/partition-processor.ts';
import { NO_URL_DOMAINS, recordUrlDomains } from '../src/windows/url-domains.ts';
import { DEFAULT_WINDOWS } from '../src/windows/window-spec.ts';
import { TEST_PROCESSOR_OPTIONS } from './processor-options.ts';

const KEYS = createFactKeys('codec-secret-0123456789abcdef');
const T0 = 1_794_996_000_000;
const CLOCK = T0 + 365 * 86_400_000;
const SENDER = '+14155550100';
const FULL_ONLY = { ...TEST_PROCESSOR_OPTIONS, light: { maxEvents: 0, maxTemplates: 0 } };

/**
 * Written before URL domains were kept, by the engine of commit e01a84e: sender +14155550100
 * after one message at T0 linking to https://dl.example.com/x, as a full entry (version 1) and
 * as a cheap sender.
 */
const FULL_V1 = Buffer.from(
  'AQEAAAAAAAAAAAAAAPD/AQEAAAAAAFCV4R56QgEAAAAAAAEAAAABAAAAAAAAAAAAAAAAAAAAAAAAAAoAAAABDAAbO9YPwMy0AgAAUJXhHnpCAABQleEeekIA4JPVs1BtQgAAUJXhHnpCAQAAAAAAUJXhHnpCAQAAAAIAAAABAAAAGkERJmA4SxABAAAAAQAAAKShZQYAAFCV4R56QgQAAAAAAEztQAAAAAAAiMNAAQAAAAAAAAAAAFCV4R56QgEAAAABAAAAAQAAAAAAAAAAAAAAAQAAAAEAAAABAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAKAAAAAQwAGzvWD8DMtAoAAAABDAAIY51kwWmxAQAAAAEAAAABAAAAAQAAAMOhBAABAAAAAAAAAIBPIkEAAAAAAEztQAEAAAAAAAAAAABQleEeekIBAAAAAQAAAAEAAAAAAAAAAAAAAAEAAAABAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAACgAAAAEMABs71g/AzLQKAAAAAQwACGOdZMFpsQEAAAABAAAAAQAAAAEAAADDoQQAAQAAAAAAAABAd0tBAAAAAIBPEkEBAAAAAAAAAAAAUJXhHnpCAQAAAAEAAAABAAAAAAAAAAAAAAABAAAAAQAAAAEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAoAAAABDAAbO9YPwMy0CgAAAAEMAAhjnWTBabEBAAAAAQAAAAEAAAABAAAAw6EEAAEAAAAAAAAAcJmUQQAAAABAd0tBAQAAAAoAAAAAAFCV4R56QgEAAAABAAAAAQAAAAAAAAAAAAAAAQAAAAEAAAABAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAKAAAAAQwAGzvWD8DMtAoAAAABDAAIY51kwWmxAQAAAAEAAAABAAAAAQAAAMOhBAABAAAA',
  'base64',
);
const LIGHT_BEFORE = Buffer.from(
  'AgEBAAAAAAAA8P8AAFCV4R56QgAAUJXhHnpCAABQleEeekIA4JPVs1BtQgEBAgEaQREmYDhLEAEBSQAAAFCV4R56Qn6w3tmkoWUGAQEBxMMSASbrHEM=',
  'base64',
);

function send(p: ReturnType<typeof createPartitionProcessor>, t: number, body: string): void {
  const event = {
    messageId: `m${t}`,
    eventTime: t,
    sender: SENDER,
    senderKind: 'LONG_CODE' as const,
    recipient: '+13035550100',
    body,
    campaignId: null,
    originNetwork: null,
  };
  p.message(SENDER, 'LONG_CODE', null, messageFacts(event, KEYS, 0).facts, CLOCK);
}

function lastUrlDomains(p: ReturnType<typeof createPartitionProcessor>): string[] | undefined {
  return p
    .drain(0)
    .flatMap((o) => (o.kind === 'features' ? [o.value.urlDomains] : []))
    .at(-1);
}

test('a full entry keeps its URL domains through its bytes', () => {
  const r = seededRandom(7);
  for (let n = 0; n <= 20; n++) {
    const p = createPartitionProcessor(FULL_ONLY);
    const sent = new Set<string>();
    for (let i = 0; i < n; i++) {
      const domain = `s${Math.floor(r() * 25)}-example.org`;
      sent.add(domain);
      send(p, T0 + i * 1_000 + Math.floor(r() * 900), `at https://www.${domain}/${i}`);
    }
    if (n === 0) send(p, T0, 'no link here');
    const entry = p.entry(SENDER)!;
    const bytes = encodeSenderEntry(entry);
    assert.equal(bytes[0], 3, 'version 3');
    const back = decodeSenderEntry(SENDER, bytes, DEFAULT_WINDOWS);
    assert.deepEqual(back.urlDomains, entry.urlDomains, `${n} messages`);
    assert.ok(encodeSenderEntry(back).equals(bytes), `${n} messages: same bytes again`);
    assert.equal(back.urlDomains.length, Math.min(16, sent.size));
    if (n === 0) assert.equal(back.urlDomains, NO_URL_DOMAINS);
  }
});

test('a full entry of version 1 (before URL domains) still restores, with none listed', () => {
  const v1 = decodeSenderEntry(SENDER, FULL_V1, DEFAULT_WINDOWS);
  assert.equal(v1.urlDomains, NO_URL_DOMAINS);
  assert.equal(v1.state.latestMs, T0);
  const v3 = encodeSenderEntry(v1);
  assert.equal(v3.length, FULL_V1.length + 1, 'the upgrade costs a sender without domains one byte');
  assert.deepEqual(decodeSenderEntry(SENDER, v3, DEFAULT_WINDOWS), v1);
  // Its earlier link is not known (only a hash of it was kept): the list starts with the next one.
  const p = createPartitionProcessor(FULL_ONLY);
  p.restore(SENDER, FULL_V1);
  send(p, T0 + 5_000, 'now https://new.example.net/a');
  p.advanceWatermark(T0 + 60_000);
  assert.deepEqual(lastUrlDomains(p), ['example.net']);
  assert.equal(p.entry(SENDER)!.state.rings[3]!.slots.filter(Boolean).length, 1);
  const damaged = Buffer.from(v3);
  damaged[0] = 2;
  assert.throws(() => decodeSenderEntry(SENDER, damaged, DEFAULT_WINDOWS), StateCodecError);
});

test('a cheap sender written before URL domains (the wide form) reads as none, and is re-packed compact', () => {
  assert.equal(LIGHT_BEFORE[0], LIGHT_TAG_WIDE);
  const light = decodeLightBytes(LIGHT_BEFORE);
  assert.equal(light.urlDomains, NO_URL_DOMAINS);
  const compact = Buffer.from(encodeLight(light), 'latin1');
  assert.equal(compact[0], LIGHT_TAG);
  assert.deepEqual(decodeLightBytes(compact), light, 'the compact form holds the same entry');
  assert.ok(
    compact.length <= LIGHT_BEFORE.length - 30,
    `${compact.length} bytes, wide ${LIGHT_BEFORE.length}`,
  );
  const p = createPartitionProcessor(TEST_PROCESSOR_OPTIONS);
  p.restore(SENDER, LIGHT_BEFORE);
  send(p, T0 + 5_000, 'see https://www.other.example.com/b and https://x.bit.ly/c');
  p.advanceWatermark(T0 + 60_000);
  assert.deepEqual(lastUrlDomains(p), ['example.com', 'bit.ly']);
  assert.equal(p.lightSenderCount, 1);
  const written = p.takeChanged().find((c) => c.key === SENDER);
  assert.equal(written?.value?.[0], LIGHT_TAG, 'written back compact');
});

test('a cheap sender whose times do not fit the compact form is written wide; both forms peek and decode alike', () => {
  const light = decodeLightBytes(LIGHT_BEFORE);
  const peekOf = (packed: string) => ({ ...peekLight(packed) });
  const compact = encodeLight(light);
  const fractional = { ...light, lastEmittedAsOf: light.latestMs - 0.5 };
  const wide = encodeLight(fractional);
  assert.equal(wide.charCodeAt(0), LIGHT_TAG_WIDE, 'a time that is not a whole ms');
  assert.deepEqual(decodeLight(wide), fractional);
  assert.deepEqual(peekOf(wide), {
    ...peekOf(compact),
    lastEmittedAsOf: light.latestMs - 0.5,
    latestOpenMinute: Number.NaN, // the wide form does not hold it
  });
  assert.deepEqual(
    { ...peekOf(encodeLight(decodeLightBytes(LIGHT_BEFORE))), latestOpenMinute: Number.NaN },
    peekOf(LIGHT_BEFORE.toString('latin1')),
  );
  for (const bytes of [LIGHT_BEFORE, Buffer.from(compact, 'latin1')])
    assert.deepEqual(peekLightBytes(bytes), { dirty: light.dirty, latestMs: light.latestMs });
  const before1970 = { ...light, latestMs: -5_000, lastMessageMs: -5_000, events: [] };
  assert.equal(encodeLight(before1970).charCodeAt(0), LIGHT_TAG_WIDE, 'a time before 1970');
  assert.deepEqual(decodeLight(encodeLight(before1970)), before1970);
  // A gap is left out where it is the distance to the message before; elsewhere it is written.
  const [first] = light.events;
  assert.equal(first?.type, 'message');
  if (first?.type !== 'message') return;
  const at = (dt: number, gapMs: number) => ({
    ...first,
    minute: first.minute + dt,
    d: { ...first.d, timeMs: first.d.timeMs + dt, gapMs },
  });
  const later = at(60_000, 60_000);
  const odd = at(120_000, 7);
  const three = { ...light, latestMs: first.d.timeMs + 120_000, events: [first, later, odd] };
  const packed = encodeLight(three);
  assert.equal(packed.charCodeAt(0), LIGHT_TAG);
  assert.deepEqual(decodeLight(packed), three);
});

test('a cheap sender keeps its URL domains through its bytes, and refuses damaged ones', () => {
  const light = decodeLightBytes(LIGHT_BEFORE);
  const without = Buffer.from(encodeLight(light), 'latin1');
  light.urlDomains = recordUrlDomains(
    recordUrlDomains(NO_URL_DOMAINS, ['a.example', 'b.example'], T0 - 86_000_000),
    ['c.example'],
    T0,
  );
  const packed = encodeLight(light);
  const bytes = Buffer.from(packed, 'latin1');
  assert.equal(bytes[0], LIGHT_TAG);
  assert.deepEqual(decodeLight(packed), light);
  // Count, then per domain its length, text and ms before the previous entry's time.
  assert.equal(bytes.length - without.length, 1 + (1 + 9 + 1) + (1 + 9 + 4) + (1 + 9 + 1));
  assert.throws(() => decodeLightBytes(bytes.subarray(0, bytes.length - 1)), StateCodecError);
  for (const form of [LIGHT_BEFORE, without]) {
    assert.throws(() => decodeLightBytes(Buffer.concat([form, Buffer.from([0])])), StateCodecError);
    const flagOnly = Buffer.from(form);
    flagOnly[1]! |= 2;
    assert.throws(() => decodeLightBytes(flagOnly), StateCodecError, 'the flag without domains');
    const withZero = Buffer.concat([flagOnly, Buffer.from([0])]);
    assert.throws(() => decodeLightBytes(withZero), StateCodecError, 'the flag with an empty list');
    const unknownFlag = Buffer.from(form);
    unknownFlag[1]! |= 8;
    assert.throws(() => decodeLightBytes(unknownFlag), StateCodecError);
  }
});

test('the partition meta record carries the minute closes (version 2); version 1 reads as none', () => {
  const v1 = encodePartitionMeta(T0);
  assert.equal(v1[0], 1);
  assert.deepEqual(decodePartitionMeta(v1), { watermark: T0, closedBy: Number.NEGATIVE_INFINITY });
  const v2 = encodePartitionMeta(T0, T0 - 60_000);
  assert.equal(v2[0], 2);
  assert.deepEqual(decodePartitionMeta(v2), { watermark: T0, closedBy: T0 - 60_000 });
  assert.throws(() => decodePartitionMeta(v2.subarray(0, 9)), StateCodecError);
  assert.throws(() => decodePartitionMeta(Buffer.concat([v1, Buffer.from([0])])), StateCodecError);
});
