import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { callbackNumbers, clusterIdOf, clusterIdString, createClusterKey } from '../src/content/index.ts';
import {
  type ContentDecisionView,
  createContentMatcher,
  createEnforcementTally,
  createFirewall,
  type MessageView,
  NO_CONTENT_KEYS,
  replayEnforcement,
  type SenderDecisionView,
} from '../src/firewall/index.ts';
import { createSubscriberHasher } from '../src/privacy.ts';
import { mulberry32 } from '../src/random.ts';

const S = '+12025550100';
const R = '+13105550111';

function decision(over: Partial<SenderDecisionView> = {}): SenderDecisionView {
  return {
    decisionId: 'd1',
    sender: S,
    action: 'ALLOW',
    throttleRatePerMinute: null,
    throttleRatePerHour: null,
    throttleScope: 'ALL_RECIPIENTS',
    expiresAt: null,
    ...over,
  };
}

function content(over: Partial<ContentDecisionView> = {}): ContentDecisionView {
  return {
    decisionId: 'c1',
    clusterId: '00000000000abc',
    action: 'BLOCK',
    urlDomains: [],
    callbackNumbers: [],
    expiresAt: null,
    overrideId: null,
    ...over,
  };
}

const msg = (time: number, over: Partial<MessageView> = {}): MessageView => ({
  time,
  sender: S,
  recipient: `+1310555${String(1000 + (time % 9000)).padStart(4, '0')}`,
  content: NO_CONTENT_KEYS,
  ...over,
});

describe('the reference firewall', () => {
  it('stops a BLOCKed sender until the block expires, then delivers (fails open)', () => {
    const fw = createFirewall();
    fw.senderDecision(decision({ action: 'BLOCK', expiresAt: 10_000 }));
    assert.equal(fw.message(msg(9_999)).stoppedBy, 'BLOCK');
    assert.equal(fw.message(msg(10_000)).delivered, true);
  });

  it('delivers ALLOW, MONITOR and actions it does not know', () => {
    for (const action of ['ALLOW', 'MONITOR', 'QUARANTINE']) {
      const fw = createFirewall();
      fw.senderDecision(decision({ action }));
      assert.equal(fw.message(msg(1)).delivered, true, action);
    }
  });

  it('lets a THROTTLEd sender have at most r messages delivered in any sliding minute, and stops only beyond it', () => {
    const rnd = mulberry32(7);
    for (let trial = 0; trial < 20; trial++) {
      const r = 1 + Math.floor(rnd() * 20);
      const fw = createFirewall();
      fw.senderDecision(decision({ action: 'THROTTLE', throttleRatePerMinute: r }));
      const delivered: number[] = [];
      let t = 0;
      for (let i = 0; i < 400; i++) {
        t += Math.floor(rnd() * 3000);
        const v = fw.message(msg(t));
        const inWindow = delivered.filter((d) => d > t - 60_000).length;
        // Stopped exactly when r were already delivered in the minute up to it.
        assert.equal(v.delivered, inWindow < r, `r=${r} t=${t}`);
        if (v.delivered) delivered.push(t);
      }
    }
  });

  it('counts an hourly limit beside the per-minute one', () => {
    const fw = createFirewall();
    fw.senderDecision(decision({ action: 'THROTTLE', throttleRatePerMinute: 30, throttleRatePerHour: 5 }));
    const verdicts = Array.from({ length: 12 }, (_, i) => fw.message(msg(i * 60_000)));
    assert.deepEqual(
      verdicts.map((v) => v.delivered),
      [true, true, true, true, true, false, false, false, false, false, false, false],
    );
    assert.equal(fw.message(msg(3_600_001)).delivered, true, 'the first one slid out of the hour');
  });

  it('scoped to NEW_CONTACTS, stops only messages to people who never messaged the sender', () => {
    const fw = createFirewall();
    const friend = '+13105550999';
    assert.equal(fw.message(msg(0, { sender: friend, recipient: S })).delivered, true); // friend texts S
    fw.senderDecision(
      decision({
        action: 'THROTTLE',
        throttleRatePerMinute: 30,
        throttleRatePerHour: 1,
        throttleScope: 'NEW_CONTACTS',
      }),
    );
    assert.equal(fw.message(msg(1_000, { recipient: '+13105550001' })).delivered, true);
    const stranger = fw.message(msg(2_000, { recipient: '+13105550002' }));
    assert.equal(stranger.stoppedBy, 'THROTTLE');
    assert.equal(stranger.toContact, false);
    for (let i = 0; i < 50; i++) {
      const v = fw.message(msg(3_000 + i, { recipient: friend }));
      assert.equal(v.delivered, true, 'a two-way contact always gets through');
      assert.equal(v.toContact, true);
    }
  });

  it('a contact lapses after the look-back', () => {
    const fw = createFirewall({ contactLookbackMs: 1_000 });
    fw.message(msg(0, { sender: R, recipient: S }));
    assert.equal(fw.message(msg(500, { recipient: R })).toContact, true);
    assert.equal(fw.message(msg(1_501, { recipient: R })).toContact, false);
  });

  it('stops every message that matches a content BLOCK, whoever sends it, by cluster, domain or call-back number', () => {
    const fw = createFirewall();
    fw.contentDecision(content({ urlDomains: ['bad.example'], callbackNumbers: ['42'] }));
    const other = '+14155550123';
    const byCluster = { clusterId: '00000000000abc', urlDomains: [], callbackNumbers: [] };
    const byDomain = {
      clusterId: '00000000000def',
      urlDomains: ['ok.example', 'bad.example'],
      callbackNumbers: [],
    };
    const byNumber = { clusterId: null, urlDomains: [], callbackNumbers: ['7', '42'] };
    const clean = { clusterId: '00000000000def', urlDomains: ['ok.example'], callbackNumbers: ['7'] };
    assert.equal(fw.message(msg(1, { sender: other, content: byCluster })).stoppedBy, 'CONTENT');
    assert.equal(fw.message(msg(2, { sender: other, content: byDomain })).stoppedBy, 'CONTENT');
    assert.equal(fw.message(msg(3, { content: byNumber })).stoppedBy, 'CONTENT');
    assert.equal(fw.message(msg(4, { content: clean })).delivered, true);
  });

  it('forgets a content BLOCK that is replaced or expires, and honours an operator allow of a cluster', () => {
    const fw = createFirewall();
    const keys = { clusterId: '00000000000abc', urlDomains: ['bad.example'], callbackNumbers: [] };
    fw.contentDecision(content({ urlDomains: ['bad.example'], expiresAt: 100 }));
    assert.equal(fw.message(msg(99, { content: keys })).delivered, false);
    assert.equal(fw.message(msg(100, { content: keys })).delivered, true);
    fw.contentDecision(content({ decisionId: 'c2', urlDomains: ['bad.example'] }));
    fw.contentDecision(content({ decisionId: 'c3', action: 'ALLOW' }));
    assert.equal(
      fw.message(msg(200, { content: keys })).delivered,
      true,
      'the replaced BLOCK lists nothing any more',
    );
    fw.contentDecision(
      content({ decisionId: 'c4', clusterId: '0000000000bbbb', urlDomains: ['bad.example'] }),
    );
    assert.equal(
      fw.message(msg(300, { content: keys })).stoppedBy,
      'CONTENT',
      'another cluster lists the domain',
    );
    fw.contentDecision(content({ decisionId: 'c5', action: 'ALLOW', overrideId: 'op-1' }));
    assert.equal(fw.message(msg(400, { content: keys })).delivered, true, 'an operator allowed this cluster');
  });
});

describe('the enforcement replay', () => {
  it('applies a decision from its in-force time on, to a message at that very time too', () => {
    const messages = [msg(1_000), msg(2_000), msg(3_000)];
    const out = [
      ...replayEnforcement({
        messages,
        senderDecisions: [{ inForceAt: 2_000, decision: decision({ action: 'BLOCK', expiresAt: 3_000 }) }],
        contentDecisions: [],
      }),
    ].map((x) => x.verdict.delivered);
    assert.deepEqual(out, [true, false, true]);
  });

  it('refuses messages out of time order', () => {
    assert.throws(
      () => [...replayEnforcement({ messages: [msg(2), msg(1)], senderDecisions: [], contentDecisions: [] })],
      RangeError,
    );
  });
});

describe('enforcement figures', () => {
  it('counts spam delivered, legitimate stopped, and THROTTLEs that never bound', () => {
    const tally = createEnforcementTally();
    const results = [
      ...replayEnforcement({
        messages: [msg(1), msg(2), msg(3), msg(4, { sender: R })],
        senderDecisions: [
          { inForceAt: 0, decision: decision({ action: 'THROTTLE', throttleRatePerMinute: 2 }) },
          {
            inForceAt: 0,
            decision: decision({
              decisionId: 'd2',
              sender: R,
              action: 'THROTTLE',
              throttleRatePerMinute: 30,
            }),
          },
        ],
        contentDecisions: [],
      }),
    ];
    for (const { message, verdict } of results)
      tally.record(
        { sender: message.sender, group: message.sender === S ? 'spam' : 'chat', spam: message.sender === S },
        verdict,
      );
    const f = tally.figures();
    assert.equal(f.spam.messages, 3);
    assert.equal(f.spam.stopped.THROTTLE, 1);
    assert.equal(f.spamDeliveredShare, 2 / 3);
    assert.equal(f.legitimateStoppedShare, 0);
    assert.deepEqual(
      f.throttles.map((t) => [t.decisionId, t.messages, t.stopped]),
      [
        ['d2', 1, 0],
        ['d1', 3, 1],
      ],
    );
  });
});

describe('content match keys', () => {
  it('are the feature engine’s cluster id, the link domains and keyed hashes of call-back numbers', () => {
    const secret = 'a-deployment-secret-of-enough-bytes';
    const body =
      'USPS: Maria, your package could not be delivered. Confirm your address at https://parcel-help.example/x1 or call (415) 555-0199';
    const keys = createContentMatcher(secret).keysOf(body, S);
    const id = clusterIdOf(body, createClusterKey(`${secret}/cluster`));
    assert.notEqual(id, null);
    assert.equal(keys.clusterId, clusterIdString(id!));
    assert.deepEqual(keys.urlDomains, ['parcel-help.example']);
    const hasher = createSubscriberHasher(secret);
    assert.deepEqual(
      keys.callbackNumbers,
      callbackNumbers(body, S).map((n) => hasher.hash(n)),
    );
    assert.equal(keys.callbackNumbers.length, 1);
    assert.deepEqual(createContentMatcher(secret).keysOf(null, S), NO_CONTENT_KEYS);
  });
});
