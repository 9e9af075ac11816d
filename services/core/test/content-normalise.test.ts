import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normaliseBody } from '../src/content/index.ts';

test('copies of a template with different amounts, codes, dates and links normalise alike', () => {
  const a = normaliseBody(
    'Chase: a charge of $1,234.56 on March 5 needs review. Code A7K2Q9. Visit bit.ly/Xk29a',
  );
  const b = normaliseBody(
    'CHASE: A charge of $12 on 17 May needs review! Code 9QQ2ZZ. Visit https://bit.ly/pP3r0?u=88',
  );
  assert.equal(a, b);
  assert.equal(a, 'chase a charge of $ # on # needs review code # visit <url:bit.ly>');
});

test('a link becomes its registrable domain, so per-recipient paths, queries and subdomains vanish', () => {
  assert.equal(
    normaliseBody('Pay at https://ann-4821.pay-toll.example.com/x?id=1'),
    'pay at <url:example.com>',
  );
  assert.equal(normaliseBody('Pay at http://bob-77.pay-toll.example.com'), 'pay at <url:example.com>');
  assert.equal(normaliseBody('see www.Example.co.uk/a, ok'), 'see <url:example.co.uk> ok');
});

test('e-mail addresses and phone numbers become tokens', () => {
  assert.equal(
    normaliseBody('Write to ann.lee+x@mail.example.org or call (202) 555-0100'),
    'write to <email> or call #',
  );
  assert.equal(normaliseBody('Call +44 20 7946 0958 now'), 'call # now');
});

test('weekdays, month names next to numbers and am/pm after numbers are dates and times', () => {
  assert.equal(normaliseBody('See you Tuesday, March 5 at 7:30 PM'), 'see you # at #');
  assert.equal(normaliseBody('See you Friday, 12 Dec at 10am'), 'see you # at #');
  assert.equal(normaliseBody('You may go in march'), 'you may go in march');
});

test('case, accents, compatibility forms and invisible characters do not split a template', () => {
  assert.equal(normaliseBody('ＶＯＴＥ  Tuesday'), normaliseBody('vote tuesday'));
  assert.equal(normaliseBody('Vóte nów'), 'vote now');
  assert.equal(normaliseBody('pay\u200bpal ve\u00adrify'), 'paypal verify');
  assert.equal(normaliseBody("Don't wait!!!"), 'dont wait');
});

test('whitespace and punctuation collapse, symbols and emoji stay as tokens', () => {
  assert.equal(normaliseBody('  Hello,\n\n  world...  🎉 \t'), 'hello world 🎉');
  assert.equal(normaliseBody('50% off — today only!'), '# off today only');
});

test('words of other scripts are kept', () => {
  assert.equal(normaliseBody('Привет, МИР! 東京へ'), 'привет мир 東京へ');
});

test('a run-on sentence is not a link, a bare host with a path is', () => {
  assert.equal(normaliseBody('ok call.me later, love.it?'), 'ok call me later love it');
  assert.equal(
    normaliseBody('get it at amzn.to/3xYz and t.me/deals'),
    'get it at <url:amzn.to> and <url:t.me>',
  );
});

test('empty, null and punctuation-only bodies normalise to the empty string', () => {
  assert.equal(normaliseBody(''), '');
  assert.equal(normaliseBody(null), '');
  assert.equal(normaliseBody(undefined), '');
  assert.equal(normaliseBody(' ?!... '), '');
});

test('a long hostile body is scanned in linear time', () => {
  const bodies = ['a.'.repeat(50_000), `${'a'.repeat(100_000)}@`, '1-'.repeat(50_000), 'x'.repeat(100_000)];
  for (const body of bodies) {
    const start = performance.now();
    normaliseBody(body);
    assert.ok(performance.now() - start < 1000, `${body.slice(0, 4)}... took too long`);
  }
});
