// The mailbox a request names, checked before anything else looks at it: not
// empty, not longer than any mailbox name can be (a client must not make
// the broker match 60,000 characters against every pattern, or echo them),
// and configured. Every status shows the name only as a short excerpt.
import type { ServiceError } from '@grpc/grpc-js';
import type { Protocol } from '../config/index.js';
import { BrokerError } from '../errors/index.js';
import { clientText } from './client-text.js';
import { invalidArgument, toStatus } from './to-status.js';

/** What the server needs to know of the engine's mailboxes. */
export interface MailboxDirectory {
  has(mailbox: string): boolean;
  mailboxNames(): Iterable<string>;
  /** The protocol a configured mailbox's tokens are for; undefined for a name not configured. */
  protocolOf(mailbox: string): Protocol | undefined;
}

/**
 * No request names a mailbox longer than this: 256, or the longest configured
 * name if that is longer. The config allows names of up to 128 characters; the
 * floor keeps a future longer rule from refusing real names.
 */
export function mailboxNameLimit(names: Iterable<string>): number {
  let longest = 256;
  for (const name of names) longest = Math.max(longest, name.length);
  return longest;
}

/** The refusal of an empty or overlong `mailbox` in `rpc`'s request, or undefined. */
export function malformedMailbox(rpc: string, mailbox: string, limit: number): Partial<ServiceError> | undefined {
  if (mailbox === '') return invalidArgument(`${rpc}Request.mailbox is empty; give the mailbox name from the config.`);
  if (mailbox.length <= limit) return undefined;
  const length = mailbox.length.toLocaleString('en-US');
  return toStatus(
    new BrokerError(`${rpc}Request.mailbox is ${length} characters long, longer than any mailbox name (at most ${limit}): "${clientText(mailbox)}".`, {
      code: 'invalid_request',
      permanent: true,
      remediation: 'Give the mailbox name from the config.',
    }),
  );
}

/**
 * NOT_FOUND for a name that is not configured. Built here rather than by the
 * engine, whose message quotes the name whole.
 */
export function unknownMailbox(mailbox: string): Partial<ServiceError> {
  return toStatus(
    new BrokerError(`no mailbox named "${clientText(mailbox)}" is configured.`, {
      code: 'unknown_mailbox',
      permanent: true,
      remediation: 'Check the name against `token-broker status` or the mailboxes section of the config.',
    }),
  );
}
