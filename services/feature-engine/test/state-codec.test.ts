import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StateCodecError } from '@spamgate/core';
import { seededRandom } from '@spamgate/test';
import {
  addFeedback,
  addMessage,
  createSenderState,
  featuresAt,
  type MessageFacts,
} from '../src/windows/sender-state.ts';
import { decodeSenderState, encodeSenderState } from '../src/windows/state-codec.ts';
import { DEFAULT_WINDOWS } from '../src/windows/window-spec.ts';

type Step = { m: MessageFacts } | { t: number; f: 'SPAM_REPORT' | 'DELIVERY_FAILURE' };

function steps(seed: number): Step[] {
  const r = seededRandom(seed);
  let t = 1_795_000_000_000;
  const out: Step[] = [];
  const n = 50 + Math.floor(r() * 600);
  const many = r() < 0.3; // some streams go past the exact range of the sketches
  for (let i = 0; i < n; i++) {
    t += Math.floor(r() * (r() < 0.8 ? 2_000 : 900_000));
    if (r() < 0.05) {
      out.push({ t, f: r() < 0.5 ? 'SPAM_REPORT' : 'DELIVERY_FAILURE' });
      continue;
    }
    const rec = Math.floor(r() * (many ? 5_000 : 40));
    out.push({
      m: {
        timeMs: t,
        recipientHi: Math.imul(rec, 2_654_435_761) >>> 0,
        recipientLo: Math.imul(rec + 7, 40_503) >>> 0,
        recipientPosition: r() < 0.1 ? Number.NaN : 3_035_550_000 + rec,
        recipientPrefix: r() < 0.1 ? -1 : 303_555 + (rec % 90),
        fingerprint: r() < 0.2 ? 0n : BigInt(Math.floor(r() * 4)) * 0x1234_5678_9abc_def1n,
        urlDomainHashes: r() < 0.3 ? [Math.floor(r() * 200)] : [],
        urlDomains: [], // window state keeps only the hashes
        hasUrl: r() < 0.3,
        hasCallbackNumber: r() < 0.1,
        localHour: Math.floor(r() * 24),
      },
    });
  }
  return out;
}

function apply(state: ReturnType<typeof createSenderState>, s: Step): number {
  if ('m' in s) {
    addMessage(state, s.m);
    return s.m.timeMs;
  }
  addFeedback(state, s.t, s.f);
  return s.t;
}

test('a state restored from its bytes at any point behaves exactly like the original from then on', () => {
  for (let seed = 1; seed <= 60; seed++) {
    const all = steps(seed);
    const cut = Math.floor(seededRandom(seed * 31)() * all.length);
    const original = createSenderState(DEFAULT_WINDOWS);
    let restored = createSenderState(DEFAULT_WINDOWS);
    let t = 0;
    all.forEach((s, i) => {
      if (i === cut) restored = decodeSenderState(encodeSenderState(restored), DEFAULT_WINDOWS);
      t = apply(original, s);
      apply(restored, s);
    });
    assert.deepEqual(featuresAt(restored, t), featuresAt(original, t), `seed ${seed}`);
    assert.ok(encodeSenderState(restored).equals(encodeSenderState(original)), `seed ${seed}: same bytes`);
  }
});

test('bytes from other windows, another version, or damaged bytes are refused with StateCodecError', () => {
  const state = createSenderState(DEFAULT_WINDOWS);
  for (const s of steps(3)) apply(state, s);
  const bytes = encodeSenderState(state);
  assert.throws(() => decodeSenderState(bytes, DEFAULT_WINDOWS.slice(0, 3)), StateCodecError);
  assert.throws(
    () =>
      decodeSenderState(bytes, [
        { name: '1m', lengthMs: 120_000, sliceMs: 10_000 },
        ...DEFAULT_WINDOWS.slice(1),
      ]),
    StateCodecError,
  );
  const wrongVersion = Buffer.from(bytes);
  wrongVersion[0] = 9;
  assert.throws(() => decodeSenderState(wrongVersion, DEFAULT_WINDOWS), StateCodecError);
  assert.throws(
    () => decodeSenderState(bytes.subarray(0, bytes.length - 1), DEFAULT_WINDOWS),
    StateCodecError,
  );
  assert.throws(
    () => decodeSenderState(Buffer.concat([bytes, Buffer.from([0])]), DEFAULT_WINDOWS),
    StateCodecError,
  );
  const r = seededRandom(99);
  for (let i = 0; i < 500; i++) {
    const damaged = Buffer.from(bytes);
    const at = Math.floor(r() * damaged.length);
    damaged[at] = (damaged[at] ?? 0) ^ (1 + Math.floor(r() * 255));
    try {
      decodeSenderState(damaged, DEFAULT_WINDOWS);
    } catch (err) {
      assert.ok(err instanceof StateCodecError, String(err));
    }
  }
});
