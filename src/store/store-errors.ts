// Every error the store raises, worded in one place: each names the store
// (without a password), the mailbox and the file or key id involved, and
// says what to do. None quotes a key, token or record.
import { BrokerError } from '../errors/index.js';
import type { RecordAddress } from './envelope.js';
import type { KeyRing } from './key-ring.js';

/** "the record of mailbox sales" / "the shared record of token line app:<digest>" / "the pending authorization of mailbox sales" */
export function recordName(address: RecordAddress): string {
  switch (address.kind) {
    case 'mailbox':
      return `the record of mailbox ${address.name}`;
    case 'line':
      return `the shared record of token line ${address.name}`;
    case 'pending':
      return `the pending authorization of mailbox ${address.name}`;
  }
}

/** The mailbox a record belongs to, for BrokerError.mailbox; a line's record belongs to several (none is named). */
export function mailboxOf(address: RecordAddress): string | undefined {
  return address.kind === 'line' ? undefined : address.name;
}

/** Transient: the broker keeps running and tries again; nothing stored is lost. */
export function storeUnavailable(store: string, action: string, reason: string, hint: string, options: { mailbox?: string; cause?: unknown } = {}): BrokerError {
  return new BrokerError(`token store ${store} is unavailable: cannot ${action} (${reason}).`, {
    code: 'store_unavailable',
    permanent: false,
    remediation: hint,
    ...options,
  });
}

/**
 * Transient: another holder kept the lock for the whole wait. The engine
 * tries again later; an operator looks for the instance that keeps it.
 */
export function lockNotTaken(store: string, lock: string, location: string, waitedMs: number, expiresAfterMs: number): BrokerError {
  return storeUnavailable(
    store,
    `take the lock ${lock}`,
    `another holder kept it for the whole ${duration(waitedMs)} waited; ${location}`,
    `Check the other broker instances sharing this store: a live holder keeps the lock for as long as its work runs, so look for one stuck in that work; ` +
      `a holder that died lets it go within ${duration(expiresAfterMs)}. If no broker instance is running, delete ${location} by hand.`,
  );
}

/** "800 ms", "10 s", "1.5 s" */
function duration(ms: number): string {
  return ms < 1_000 ? `${ms} ms` : `${ms / 1_000} s`;
}

export function keyFileUnreadable(file: string, reason: string, setting: 'current' | 'previous', cause: unknown): BrokerError {
  return new BrokerError(`cannot read the token store encryption key file ${file} (${reason}).`, {
    code: 'store_key_invalid',
    permanent: true,
    remediation:
      setting === 'current'
        ? "Make it readable by the broker's user, or point store.encryptionKeyFile at the right file. Do not replace it with a new key: tokens stored under it could not be read any more."
        : "Make it readable by the broker's user, or remove it from store.previousEncryptionKeyFiles once no record needs it.",
    cause,
  });
}

export function keyFileInvalid(file: string, problem: string, rule: string, setting: 'current' | 'previous'): BrokerError {
  return new BrokerError(`the token store encryption key file ${file} is not a valid key (it ${problem}); ${rule}.`, {
    code: 'store_key_invalid',
    permanent: true,
    remediation:
      setting === 'current'
        ? 'Restore the file from your backup. Only if losing every stored token is acceptable (mailboxes then obtain new tokens; interactive ones must be authorized again), delete it and the broker generates a new key.'
        : 'Restore the old key file from your backup, or remove it from store.previousEncryptionKeyFiles once no record needs it.',
  });
}

export function keyFileNotCreated(file: string, reason: string, cause: unknown): BrokerError {
  return new BrokerError(`cannot create the token store encryption key file ${file} (${reason}).`, {
    code: 'store_key_invalid',
    permanent: true,
    remediation: `Make its folder writable by the broker's user, or create the key yourself: (umask 077; openssl rand -base64 32 > ${file})`,
    cause,
  });
}

export { keyCredentialMissing } from '../config/index.js';

/** The record names a key the broker was not given: ops must supply that key file, not re-authorize. */
export function unknownKey(store: string, address: RecordAddress, keyId: string, ring: KeyRing): BrokerError {
  return new BrokerError(`${recordName(address)} in token store ${store} is encrypted with key id ${keyId}, which is none of the configured keys: ${ring.describe()}.`, {
    code: 'store_key_invalid',
    permanent: true,
    ...optionalMailbox(address),
    remediation: `Give the key file whose key id is ${keyId} as store.encryptionKeyFile, or add it to store.previousEncryptionKeyFiles (a key file's id: base64 -d FILE | sha256sum | cut -c1-16).`,
  });
}

export type RecordProblem = 'malformed' | 'unauthentic' | 'content' | { readonly version: number };

/** Permanent: the record can never be read; only replacing it helps. */
export function recordInvalid(store: string, address: RecordAddress, problem: RecordProblem, location: string): BrokerError {
  const what = recordName(address);
  const detail =
    problem === 'unauthentic'
      ? 'cannot be decrypted: it was altered, damaged, or copied from another record'
      : problem === 'malformed'
        ? 'is damaged: it is not an encrypted record as the broker writes them'
        : problem === 'content'
          ? 'decrypts, but what it holds is not a valid record'
          : `was written in format version ${problem.version}, which this broker does not know`;
  const remediation =
    typeof problem === 'object'
      ? 'Upgrade this broker: every instance sharing a store must run a version that knows the formats the others write.'
      : address.kind === 'mailbox'
        ? `Delete it (${location}) so the broker obtains new tokens; a mailbox with an interactive grant then needs token-broker authorize ${address.name}.`
        : address.kind === 'line'
          ? `Delete it (${location}) so the broker obtains a new token for the mailboxes that share it (client credentials: no person is needed).`
          : `Start the authorization again (token-broker authorize ${address.name}); that replaces it.`;
  return new BrokerError(`${what} in token store ${store} ${detail}.`, {
    code: 'store_record_invalid',
    permanent: true,
    ...optionalMailbox(address),
    remediation,
  });
}

function optionalMailbox(address: RecordAddress): { mailbox?: string } {
  const mailbox = mailboxOf(address);
  return mailbox === undefined ? {} : { mailbox };
}
