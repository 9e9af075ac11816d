import assert from 'node:assert/strict';
import { test } from 'node:test';
import { extractUrls, registrableDomain } from '../src/content/index.ts';

test('links are found with a scheme, with www. and bare, as lower-case hosts', () => {
  assert.deepEqual(extractUrls('Go to http://Secure.Example.com/a/b?c=1 now'), ['secure.example.com']);
  assert.deepEqual(extractUrls('Visit WWW.Example.org.'), ['www.example.org']);
  assert.deepEqual(extractUrls('Claim: bit.ly/Xk29a'), ['bit.ly']);
  assert.deepEqual(extractUrls('see paypal-verify.com, today'), ['paypal-verify.com']);
});

test('each host is returned once, in order of first appearance, without paths or queries', () => {
  const hosts = extractUrls('bit.ly/a then https://x.example/?q=ann bit.ly/b and BIT.LY/c');
  assert.deepEqual(hosts, ['bit.ly', 'x.example']);
});

test('a run-on sentence is not a link, unless a path follows the host', () => {
  assert.deepEqual(extractUrls('call.me when you can, I love.it? no.way'), []);
  assert.deepEqual(extractUrls('join t.me/freegift'), ['t.me']);
  assert.deepEqual(extractUrls('version 2.0 costs $3.50'), []);
});

test('user information before @ is not the host, and the port is dropped', () => {
  assert.deepEqual(extractUrls('http://paypal.com@evil.example:8080/login'), ['evil.example']);
  assert.deepEqual(extractUrls('https://user:pw@login.bank.example/'), ['login.bank.example']);
});

test('international names come out in punycode and IP hosts as written', () => {
  assert.deepEqual(extractUrls('http://bücher.de/x'), ['xn--bcher-kva.de']);
  assert.deepEqual(extractUrls('http://192.168.10.4/verify'), ['192.168.10.4']);
});

test('e-mail addresses are not links', () => {
  assert.deepEqual(extractUrls('mail ann@example.com'), []);
});

test('the registrable domain is the last two labels, or three under a country registry category', () => {
  assert.equal(registrableDomain('login.secure.bank.example'), 'bank.example');
  assert.equal(registrableDomain('a.b.example.co.uk'), 'example.co.uk');
  assert.equal(registrableDomain('www.shop.com.au'), 'shop.com.au');
  assert.equal(registrableDomain('x.example.ne.jp'), 'example.ne.jp');
  assert.equal(registrableDomain('bit.ly'), 'bit.ly');
  assert.equal(registrableDomain('t.co'), 't.co');
  assert.equal(registrableDomain('news.bbc.co'), 'bbc.co');
  assert.equal(registrableDomain('WWW.Example.COM.'), 'example.com');
});

test('each site on a hosting platform is its own registrable domain', () => {
  assert.equal(registrableDomain('ann.github.io'), 'ann.github.io');
  assert.equal(registrableDomain('deep.phish-kit.herokuapp.com'), 'phish-kit.herokuapp.com');
  assert.equal(registrableDomain('bucket.s3.amazonaws.com'), 'bucket.s3.amazonaws.com');
  assert.equal(registrableDomain('www.amazonaws.com'), 'amazonaws.com');
});

test('IP addresses are their own registrable domain', () => {
  assert.equal(registrableDomain('192.168.10.4'), '192.168.10.4');
  assert.equal(registrableDomain('[2001:db8::1]'), '[2001:db8::1]');
});

test('a body without links has none', () => {
  assert.deepEqual(extractUrls('Hi, see you at 5'), []);
  assert.deepEqual(extractUrls(''), []);
  assert.deepEqual(extractUrls(null), []);
});
