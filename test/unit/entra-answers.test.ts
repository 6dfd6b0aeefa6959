// Every Entra answer ops meet, named (issue 13, point 5): each AADSTS number
// is classified (permanent only when a person must act), shown to ops as its
// AADSTS code, and explained with what happened, what to do and where.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyOAuthError } from '../../src/broker/index.js';
import { InteractionRequiredAuthError, ServerError } from '@azure/msal-node';
import { ENTRA_ANSWERS, entraAnswer } from '../../src/broker/grants/entra-answers.js';
import { fromMsalError } from '../../src/broker/grants/msal/errors.js';
import { ENTRA_ANSWER_CASES, ISSUE_13_CODES, placesOf } from '../support/entra-answer-cases.js';

const context = (grantType: string) => ({ mailbox: 'sales', authorizationServer: 'microsoft', grantType });

/** Entra's error_description: the AADSTS line, then trace lines that must not reach the message. */
const description = (aadsts: number): string => `AADSTS${aadsts}: what Entra says.\r\nTrace ID: 0000\r\nCorrelation ID: 1111\r\nTimestamp: 2026-12-05 08:00:00Z`;

describe('Entra answers', () => {
  for (const entry of ENTRA_ANSWER_CASES) {
    test(`AADSTS${entry.aadsts} (${entry.grant}) -> ${entry.code}, ${entry.permanent ? 'permanent' : 'transient'}, says what and where`, () => {
      const error = classifyOAuthError({ error: entry.error, errorDescription: description(entry.aadsts), httpStatus: entry.status }, context(entry.grant));
      assert.equal(error.code, entry.code);
      assert.equal(error.permanent, entry.permanent);
      assert.equal(error.displayCode, `AADSTS${entry.aadsts}`);
      assert.equal(error.oauth?.aadsts, String(entry.aadsts));
      assert.equal(error.mailbox, 'sales');
      assert.equal(error.message, `mailbox sales: authorization server microsoft refused the ${entry.grant} token request: AADSTS${entry.aadsts}: what Entra says.`);
      const remediation = error.remediation ?? '';
      assert.match(remediation, entry.what);
      for (const place of placesOf(entry, 'sales', 'microsoft')) assert.ok(remediation.includes(place), `"${place}" missing from: ${remediation}`);
      assert.ok(error.describe().endsWith(remediation));
    });
  }

  test('the number from error_codes (as msal-node hands it over) classifies like the one in the description', () => {
    for (const entry of ENTRA_ANSWER_CASES) {
      const fromCodes = classifyOAuthError({ error: entry.error, errorDescription: 'no number in this text', aadsts: String(entry.aadsts) }, context(entry.grant));
      assert.equal(fromCodes.code, entry.code, `AADSTS${entry.aadsts}`);
      assert.equal(fromCodes.displayCode, `AADSTS${entry.aadsts}`);
    }
  });

  test('every code of the issue has one row in the broker table', () => {
    for (const code of ISSUE_13_CODES) assert.ok(entraAnswer(String(code)) !== undefined, `AADSTS${code} has no row`);
    const numbers = ENTRA_ANSWERS.map((answer) => answer.aadsts);
    assert.equal(new Set(numbers).size, numbers.length, 'one row per number');
  });

  test('every row says what happened and names where to act', () => {
    for (const grant of ['ropc', 'client-credentials', 'authorization-code', 'device-code']) {
      for (const answer of ENTRA_ANSWERS) {
        const remediation = classifyOAuthError({ error: 'invalid_grant', aadsts: answer.aadsts }, context(grant)).remediation ?? '';
        assert.ok(remediation.startsWith(answer.meaning), `AADSTS${answer.aadsts}`);
        assert.match(remediation, /mailboxes\.sales\.|authorizationServers\.microsoft\.|token-broker authorize sales|Entra admin center|App registrations|host's clock/, `AADSTS${answer.aadsts} (${grant}): ${remediation}`);
      }
    }
  });

  test('a grant that is gone: interactive mailboxes are told to authorize; password mailboxes that the broker signs in again by itself (authorize only makes it happen now)', () => {
    for (const aadsts of ['50173', '700082', '70008']) {
      const interactive = classifyOAuthError({ error: 'invalid_grant', aadsts }, context('authorization-code'));
      assert.match(interactive.remediation ?? '', /Run: token-broker authorize sales$/);
      const password = classifyOAuthError({ error: 'invalid_grant', aadsts }, context('ropc'));
      assert.doesNotMatch(password.remediation ?? '', /^Run: token-broker authorize/m);
      assert.match(password.remediation ?? '', /signs in again with mailboxes\.sales\.password .*; run token-broker authorize sales to try at once\.$/);
    }
    const expired = classifyOAuthError({ error: 'invalid_grant', aadsts: '50055' }, context('device-code'));
    assert.match(expired.remediation ?? '', /Reset password\), then run: token-broker authorize sales$/);
  });

  test('MFA and external challenges: an interactive mailbox completes them in the browser', () => {
    for (const aadsts of ['50076', '50079', '50158']) {
      const error = classifyOAuthError({ error: 'invalid_grant', aadsts }, context('authorization-code'));
      assert.match(error.remediation ?? '', /Run: token-broker authorize sales and complete .* in the browser\.$/);
      assert.doesNotMatch(error.remediation ?? '', /grantType/);
    }
  });

  test('through msal-node: the message quotes Entra, not msal\'s frame around it', () => {
    // msal-common's ResponseHandler wraps the answer's fields like this, for ServerError and InteractionRequiredAuthError alike.
    const framed = (aadsts: number): string =>
      `Error(s): ${aadsts} - Timestamp: 2026-12-05 08:00:00Z - Description: AADSTS${aadsts}: what Entra says.\r\nTrace ID: 0000\r\nCorrelation ID: 1111\r\nTimestamp: 2026-12-05 08:00:00Z - Correlation ID: 1111 - Trace ID: 0000`;
    const thrown = [
      new ServerError('unauthorized_client', '1111', framed(700016), undefined, '700016', 400),
      new InteractionRequiredAuthError('invalid_grant', '1111', framed(50057), undefined, '2026-12-05 08:00:00Z', '0000', undefined, '50057'),
    ];
    for (const error of thrown) {
      const classified = fromMsalError(error, context('ropc'));
      assert.match(classified.message, /^mailbox sales: authorization server microsoft refused the ropc token request: AADSTS\d+: what Entra says\.$/);
      assert.equal(classified.oauth?.errorDescription?.startsWith('AADSTS'), true);
    }
    assert.equal(fromMsalError(new ServerError('server_error', '', 'no frame here', undefined, undefined, 400), context('ropc')).oauth?.errorDescription, 'no frame here');
  });
});
