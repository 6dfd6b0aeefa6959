// Keys of issue 15 that the document schema describes before the reader on
// main accepts them: the reader learns them on other branches (metrics,
// forecast). The lead empties PENDING_READER_KEYS at merge, and swaps the
// stand-in schemas below for the reader's own fields (the drift test fails
// until both are done).
import { z } from 'zod';

/** Dotted section path (as the key-set drift test names it) → keys the reader does not accept yet. */
export const PENDING_READER_KEYS: Readonly<Record<string, readonly string[]>> = {
  metrics: ['perMailbox'],
  'mailboxes.<mailbox>': ['clientSecretExpiresAt'],
  'authorizationServers.<server>': ['testingApp'],
};

/**
 * Stand-in for the reader's clientSecretExpiresAt field (forecast branch):
 * a date, read as 00:00 UTC that day, or a date-time with its zone. The
 * reader also checks that the day exists (no 2027-02-30).
 */
export const secretEndDate = z.string().regex(/^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))?$/);
