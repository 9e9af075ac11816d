// The message ledger: what the report's enforcement replay reads back, with what a firewall
// matches in each message and never its body.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createContentMatcher } from '@spamgate/core';
import { createLedgerWriter, readLedger } from '../src/ledger.ts';
import type { SimMessage } from '../src/simulation.ts';

const BODY =
  'USPS: Ana, your package could not be delivered. Confirm your address: https://parcel-help.example/ab12 or call 415-555-0199';
const message = (i: number, body: string | null): SimMessage => ({
  type: 'message',
  label: 'snowshoe',
  value: {
    messageId: `m${i}`,
    eventTime: 1_796_000_000_000 + i,
    sender: '+12025550100',
    senderKind: 'LONG_CODE',
    recipient: `+1310555${1000 + i}`,
    body,
    campaignId: null,
    originNetwork: null,
  },
});

describe('the message ledger', () => {
  it('reads back every message with its send time and the keys a firewall computes, never the body', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ledger-'));
    const path = join(dir, 'ledger.jsonl');
    const secret = 'a-deployment-secret-of-enough-bytes';
    const w = createLedgerWriter(path, secret);
    w.write([message(1, BODY), message(2, null)], 1_796_000_000_500);
    await w.close();
    assert.doesNotMatch(
      readFileSync(path, 'utf8'),
      /package|Ana|415/,
      'no body, no number in clear beyond the addresses',
    );
    const [a, b] = readLedger(path);
    assert.deepEqual(a, {
      t: 1_796_000_000_001,
      w: 1_796_000_000_500,
      sender: '+12025550100',
      recipient: '+13105551001',
      label: 'snowshoe',
      content: createContentMatcher(secret).keysOf(BODY, '+12025550100'),
    });
    assert.equal(a!.content.urlDomains[0], 'parcel-help.example');
    assert.equal(a!.content.callbackNumbers.length, 1);
    assert.deepEqual(b!.content, { clusterId: null, urlDomains: [], callbackNumbers: [] });
  });

  it('without the hash key writes no content keys', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'ledger-')), 'l.jsonl');
    const w = createLedgerWriter(path, undefined);
    w.write([message(1, BODY)], 0);
    await w.close();
    assert.deepEqual(readLedger(path)[0]!.content, { clusterId: null, urlDomains: [], callbackNumbers: [] });
  });
});
