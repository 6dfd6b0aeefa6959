// Which credentials a stored token belongs to. The engine compares the
// fingerprint in a record with the one of the current config and serves
// nothing obtained with other credentials (a new clientId, tenant, user,
// secret or certificate means: obtain new tokens).
import { createHash } from 'node:crypto';
import type { MailboxConfig } from '../config/index.js';

/** Part of the hashed input: changing how fingerprints are computed changes them all (every mailbox then re-acquires once). */
const FORMAT = 'token-broker/credential-fingerprint/v1';

/**
 * sha256 (hex) over, in this order:
 * - the authorization server: name, type, authorityHost, issuer, and the
 *   authorization, token and device authorization endpoints (another server
 *   issues other tokens);
 * - tenantId, clientId, grantType;
 * - scopes, sorted and without duplicates (order does not change what is granted);
 * - username (the identity the token belongs to; compared exactly, as a
 *   generic server may treat case as significant);
 * - authenticationMode and redirectPlatform (a public and a confidential
 *   client are different clients to Entra);
 * - a sha256 of the client secret, of the password (ropc: a new password
 *   must re-acquire, as DOMAIN.md promises) and the certificate's SHA-256
 *   thumbprint (else the configured one), and a Google key file's
 *   private_key_id, so new credentials re-acquire.
 *   Secrets go in only as digests, and the fingerprint itself is stored only
 *   inside the encrypted record: never log it (it would allow guessing a weak password).
 *
 * Deliberately not included, because they do not change whose token it is:
 * sharedMailbox (only the XOAUTH2 user and the Graph path, chosen when the
 * token is served), proxy (the route, not the credentials), protocol (the
 * scopes already say what the token is for), redirectUri, caFile, the
 * mailbox's own name (the record's key), and the certificate's password.
 */
export function credentialFingerprint(mailbox: MailboxConfig): string {
  const server = mailbox.authorizationServer;
  const inputs: [string, string | readonly string[] | null][] = [
    ['format', FORMAT],
    ['server.name', server.name],
    ['server.type', server.type],
    ['server.authorityHost', server.authorityHost ?? null],
    ['server.issuer', server.issuer ?? null],
    ['server.authorizationEndpoint', server.authorizationEndpoint ?? null],
    ['server.tokenEndpoint', server.tokenEndpoint ?? null],
    ['server.deviceAuthorizationEndpoint', server.deviceAuthorizationEndpoint ?? null],
    ['tenantId', mailbox.tenantId ?? null],
    ['clientId', mailbox.clientId],
    ['grantType', mailbox.grantType],
    ['scopes', [...new Set(mailbox.scopes)].sort()],
    ['username', mailbox.username],
    ['authenticationMode', mailbox.authenticationMode],
    ['redirectPlatform', mailbox.redirectPlatform ?? null],
    ['clientSecret', secretDigest('clientSecret', mailbox.clientSecret?.reveal())],
    ['password', secretDigest('password', mailbox.password?.reveal())],
    ['certificate', mailbox.certificate === undefined ? null : (mailbox.certificate.sha256Thumbprint ?? mailbox.certificate.thumbprint)],
    // A Google key file's key: a rotated key (new private_key_id) re-acquires at once. Absent (and so no change to any
    // earlier fingerprint) for every mailbox without a key file.
    ...(mailbox.serviceAccountKey === undefined ? [] : [['serviceAccountKey', mailbox.serviceAccountKey.privateKeyId] as [string, string]]),
  ];
  // JSON of [name, value] pairs: unambiguous whatever the values contain, and stable across restarts and Node versions.
  return createHash('sha256').update(JSON.stringify(inputs), 'utf8').digest('hex');
}

/**
 * Digests of secrets seen lately. A fleet shares secrets widely (7,000
 * mailboxes over 200 application secrets, and each client-credentials
 * mailbox is fingerprinted twice: as itself and as its application's line),
 * so a start of 10,000 mailboxes hashed the same few hundred secrets 17,000
 * times. The keys are secrets already held in memory by the config; the map
 * is emptied when it grows past a bound, so reloads cannot make it grow without end.
 */
const secretDigests = new Map<string, string>();
const SECRET_DIGESTS_LIMIT = 50_000;

function secretDigest(name: string, value: string | undefined): string | null {
  if (value === undefined) return null;
  const input = `${FORMAT}\0${name}\0${value}`;
  let digest = secretDigests.get(input);
  if (digest === undefined) {
    if (secretDigests.size >= SECRET_DIGESTS_LIMIT) secretDigests.clear();
    digest = createHash('sha256').update(input, 'utf8').digest('hex');
    secretDigests.set(input, digest);
  }
  return digest;
}
