// Keys the document schema may describe before the reader accepts them (work
// on a branch): none now. The drift test fails once the reader accepts a key
// listed here, so the list cannot outlive the branch.
import { z } from 'zod';

/** Dotted section path (as the key-set drift test names it) → keys the reader does not accept yet. */
export const PENDING_READER_KEYS: Readonly<Record<string, readonly string[]>> = {};

/**
 * clientSecretExpiresAt as editors see it: a date, read as 00:00 UTC that
 * day, or a date-time with its zone. The reader's own field (endDate in
 * sections/mailboxes.ts) turns it into a time, which JSON Schema cannot say,
 * and also checks that the day exists (no 2027-02-30).
 */
export const secretEndDate = z.string().regex(/^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))?$/);
