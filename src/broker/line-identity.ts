// Which mailboxes share one token, and whether a mailbox's settings changed.
// Client-credentials tokens are app-only: every mailbox of one application,
// server, tenant, credential and scope set gets the same token, so they share
// one acquisition and one refresh (the mailbox only changes the SASL user).
import { createHash } from 'node:crypto';
import type { MailboxConfig } from '../config/index.js';
import { Secret } from '../config/index.js';
import { credentialFingerprint } from '../store/index.js';

/**
 * The id of the token line a mailbox belongs to: its own name, or for
 * client credentials `app:` and a digest of everything that makes the token
 * (the credential fingerprint without the user, plus the proxy route).
 * Used as the lock name across instances and as the jitter seed.
 */
export function tokenLineId(config: MailboxConfig): string {
  if (config.grantType !== 'client-credentials') return config.name;
  const appFingerprint = credentialFingerprint({ ...config, username: '' });
  const digest = createHash('sha256').update(`${appFingerprint}\0${config.proxy?.name ?? ''}\0${config.proxy?.url ?? ''}`).digest('hex');
  return `app:${digest.slice(0, 32)}`;
}

/**
 * A digest of every setting of the mailbox, secrets included (as digests of
 * their values, since Secret serializes as "[redacted]"): equal digests mean
 * a reload leaves the mailbox exactly as it is.
 */
export function settingsDigest(config: MailboxConfig): string {
  // The replacer sees values after toJSON (a Secret is "[redacted]" by then): the holder has the original.
  const text = JSON.stringify(config, function (this: Record<string, unknown>, key: string, value: unknown) {
    const original = this[key];
    return original instanceof Secret ? `secret:${createHash('sha256').update(original.reveal()).digest('hex')}` : value;
  });
  return createHash('sha256').update(text).digest('hex');
}
