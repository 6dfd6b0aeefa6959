// toStatus: a BrokerError becomes a gRPC status with its code in metadata;
// whatever text an error carries (some quote what a client pasted, such as
// the issuer a redirect URL names), the status message stays short and
// carries no terminal control sequence.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { BrokerError } from '../../src/errors/index.js';
import { ERROR_CODE_METADATA_KEY, toStatus } from '../../src/server/index.js';

describe('toStatus', () => {
  test('maps the code, and sends the display code in metadata', () => {
    const status = toStatus(new BrokerError('no mailbox named "x" is configured.', { code: 'unknown_mailbox', remediation: 'Check the name.' }));
    assert.equal(status.code, GrpcStatus.NOT_FOUND);
    assert.equal(status.details, 'no mailbox named "x" is configured. Check the name. [unknown_mailbox]');
    assert.equal(status.metadata?.get(ERROR_CODE_METADATA_KEY)[0], 'unknown_mailbox');
  });

  test('cuts a message that quotes 70,000 characters of client input to 2,000, keeping the code', () => {
    const pasted = 'i'.repeat(70_000);
    const status = toStatus(new BrokerError(`mailbox m: the pasted URL names issuer ${pasted}.`, { code: 'invalid_request' }));
    assert.ok((status.details ?? '').length <= 2_100, `details of ${status.details?.length} characters`);
    assert.match(status.details ?? '', /^mailbox m: the pasted URL names issuer i+… \(70,\d{3} characters\) \[invalid_request\]$/);
  });

  test('escapes control characters but the line breaks and tabs of a multi-line message', () => {
    const status = toStatus(new BrokerError('issuer \u001b[2Jcleared\r\u202eevil\nsecond line\tend', { code: 'invalid_request' }));
    assert.equal(status.details, 'issuer \\u001b[2Jcleared\\r\\u202eevil\nsecond line\tend [invalid_request]');
  });
});
