// The call audit's observer (src/server/call-audit.ts), which feeds the
// metrics: each answered call with its RPC name, its outcome as sent in
// token-broker-error-code (else the gRPC status name), and the client's
// name: "anonymous" without server.clients, "unauthenticated" for a key the
// list does not know. Also: without log and observer the callback is not wrapped.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import { Secret } from '../../src/config/index.js';
import type { ClientConfig } from '../../src/config/index.js';
import { BrokerError } from '../../src/errors/index.js';
import { CallAudit } from '../../src/server/call-audit.js';
import { ClientAuthenticator } from '../../src/server/client-auth.js';
import { toStatus } from '../../src/server/index.js';

const directory = { has: () => true, mailboxNames: () => ['sales'], protocolOf: () => 'imap' as const };
const CLIENTS: ClientConfig[] = [{ name: 'imap-connector', key: new Secret('connector-key', 'test'), mailboxes: ['*'], admin: false }];

function callWith(key?: string): { metadata: Metadata; getPeer(): string } {
  const metadata = new Metadata();
  if (key !== undefined) metadata.set('authorization', `Bearer ${key}`);
  return { metadata, getPeer: () => 'unix:' };
}

function observed(clients: readonly ClientConfig[] | undefined): { audit: CallAudit; seen: string[][] } {
  const seen: string[][] = [];
  const audit = new CallAudit(undefined, new ClientAuthenticator(clients, directory), (method, status, client) => seen.push([method, status, client]));
  return { audit, seen };
}

describe('call audit observer', () => {
  test('without server.clients every caller is "anonymous"; outcomes are ok, the broker code, else the gRPC status name', () => {
    const { audit, seen } = observed(undefined);
    audit.unary('token.get', callWith(), 'sales', () => undefined)(null, undefined);
    audit.unary('token.get', callWith(), 'sales', () => undefined)(toStatus(new BrokerError('no such mailbox', { code: 'unknown_mailbox' })));
    audit.unary('token.rejected', callWith(), 'sales', () => undefined)({ code: GrpcStatus.RESOURCE_EXHAUSTED, details: 'budget' });
    audit.watch(callWith(), 'sales');
    audit.unary('admin.reload', callWith(), undefined, () => undefined)(null, undefined);
    assert.deepEqual(seen, [
      ['GetToken', 'ok', 'anonymous'],
      ['GetToken', 'unknown_mailbox', 'anonymous'],
      ['ReportRejected', 'RESOURCE_EXHAUSTED', 'anonymous'],
      ['WatchToken', 'ok', 'anonymous'],
      ['Reload', 'ok', 'anonymous'],
    ]);
  });

  test('with server.clients: the client\'s name, or "unauthenticated" for an unknown key', () => {
    const { audit, seen } = observed(CLIENTS);
    audit.unary('token.get', callWith('connector-key'), 'sales', () => undefined)(null, undefined);
    audit.watch(callWith('guessed-key'), 'sales', { code: GrpcStatus.UNAUTHENTICATED, details: 'unknown key' });
    assert.deepEqual(seen, [
      ['GetToken', 'ok', 'imap-connector'],
      ['WatchToken', 'UNAUTHENTICATED', 'unauthenticated'],
    ]);
  });

  test('the answer still reaches the caller; with neither log nor observer the callback is handed back as is', () => {
    const answers: unknown[] = [];
    const callback = (error: unknown, value?: unknown): void => void answers.push(error ?? value);
    const { audit } = observed(undefined);
    audit.unary('token.get', callWith(), 'sales', callback)(null, 'token');
    assert.deepEqual(answers, ['token']);
    const bare = new CallAudit(undefined, new ClientAuthenticator(undefined, directory));
    assert.equal(bare.unary('token.get', callWith(), 'sales', callback), callback);
  });
});
