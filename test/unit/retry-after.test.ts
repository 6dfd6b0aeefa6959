// Retry-After as servers send it (RFC 9110 10.2.3): delta-seconds or an
// HTTP-date in its three forms, relative to when the answer arrived; garbage
// is ignored, and no value waits longer than an hour.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_RETRY_AFTER_MS, parseRetryAfter } from '../../src/http/index.js';

const now = Date.UTC(2026, 10, 29, 19, 9, 30, 250);

describe('parseRetryAfter', () => {
  test('delta-seconds', () => {
    assert.equal(parseRetryAfter('7', now), 7_000);
    assert.equal(parseRetryAfter('0', now), 0);
    assert.equal(parseRetryAfter(' 120 ', now), 120_000, 'surrounding whitespace is allowed (OWS)');
    assert.equal(parseRetryAfter('0060', now), 60_000);
  });

  test('an HTTP-date (IMF-fixdate) counts from now', () => {
    assert.equal(parseRetryAfter('Sun, 29 Nov 2026 19:10:00 GMT', now), 29_750);
    assert.equal(parseRetryAfter('sun, 29 nov 2026 19:10:00 gmt', now), 29_750, 'names are case-insensitive');
  });

  test('the obsolete RFC 850 and asctime forms, both UTC', () => {
    assert.equal(parseRetryAfter('Sunday, 29-Nov-26 19:10:00 GMT', now), 29_750);
    assert.equal(parseRetryAfter('Sun Nov 29 19:10:00 2026', now), 29_750);
    assert.equal(parseRetryAfter('Sun Nov  1 00:00:00 2026', Date.UTC(2026, 10, 1) - 5_000), 5_000, 'asctime pads the day with a space');
  });

  test('an RFC 850 two-digit year more than 50 years ahead is in the past century', () => {
    assert.equal(parseRetryAfter('Sunday, 06-Nov-94 08:49:37 GMT', now), 0, '1994, not 2094');
  });

  test('a date in the past means now', () => {
    assert.equal(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', now), 0);
    assert.equal(parseRetryAfter('Sun, 29 Nov 2026 19:09:30 GMT', now), 0, '250 ms ago');
  });

  test('huge values are capped at an hour', () => {
    assert.equal(MAX_RETRY_AFTER_MS, 3_600_000);
    assert.equal(parseRetryAfter('3601', now), MAX_RETRY_AFTER_MS);
    assert.equal(parseRetryAfter('99999999999999999999999', now), MAX_RETRY_AFTER_MS);
    assert.equal(parseRetryAfter('9'.repeat(400), now), MAX_RETRY_AFTER_MS, 'Number() of this is Infinity');
    assert.equal(parseRetryAfter('Fri, 31 Dec 9999 23:59:59 GMT', now), MAX_RETRY_AFTER_MS);
    assert.equal(parseRetryAfter('3600', now), 3_600_000, 'exactly an hour is kept');
  });

  test('negative, fractional and signed seconds are garbage, not guesses', () => {
    for (const value of ['-5', '-0', '+5', '7.5', '1e3', '0x10', '7 s', '7,8']) {
      assert.equal(parseRetryAfter(value, now), undefined, value);
    }
  });

  test('garbage dates, free text and empty values are ignored', () => {
    const garbage = [
      '',
      '   ',
      'soon',
      'null',
      '2026-11-29T19:10:00Z',
      '2026-11-29',
      'Nov 29 2026',
      'Sun, 31 Feb 2026 19:10:00 GMT',
      'Sun, 29 Nov 2026 25:10:00 GMT',
      'Sun, 29 Foo 2026 19:10:00 GMT',
      'Sun, 29 Nov 2026 19:10:00 CET',
      'Sun, 29 Nov 2026 19:10:00',
      'Sun, 29 Nov 2026 19:10 GMT',
    ];
    for (const value of garbage) assert.equal(parseRetryAfter(value, now), undefined, JSON.stringify(value));
  });

  test('no header at all', () => {
    assert.equal(parseRetryAfter(undefined, now), undefined);
    assert.equal(parseRetryAfter(null, now), undefined, 'Headers.get answers null');
  });
});
