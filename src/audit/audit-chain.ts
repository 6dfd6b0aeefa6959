// The audit log's line format and hash chain, shared by the writer and
// `token-broker audit verify`. Each line is one JSON object whose last field,
// `prev`, is the SHA-256 (hex) of the previous line's exact text (without its
// newline); the first line of a new chain has GENESIS. `seq` counts lines
// from 1 across files, so a file that starts a rotation continues the chain
// of the one before it. Removing, reordering or editing any line breaks
// `prev` of the line after it, or `seq`.
import { createHash } from 'node:crypto';

export const GENESIS = '0'.repeat(64);

/** What happened, as the audit log names it. */
export type AuditEventKind =
  | 'token.get'
  | 'token.watch'
  | 'token.push'
  | 'token.rejected'
  | 'authorization.start'
  | 'authorization.complete'
  | 'admin.status'
  | 'admin.list'
  | 'admin.reload';

/** One event, as the caller describes it; the log adds seq, time and prev. */
export interface AuditEvent {
  readonly event: AuditEventKind;
  /** The client's name from server.clients, or "anonymous" when no allow-list is configured. */
  readonly client: string;
  /** The mTLS certificate subject, when the client offered one. */
  readonly subject?: string;
  /** The transport peer as gRPC reports it (e.g. ipv4:127.0.0.1:53122; "unknown" on a unix socket). */
  readonly peer?: string;
  readonly mailbox?: string;
  /** "ok", or the error code the call was answered with. */
  readonly outcome: string;
  /** ReportRejected's reason, cut short. */
  readonly reason?: string;
  /** SHA-256 (hex) of the access token handed out; never the token. */
  readonly tokenSha256?: string;
  /** When the token handed out expires (ISO 8601). */
  readonly tokenExpiresAt?: string;
}

export interface AuditLine extends AuditEvent {
  readonly seq: number;
  readonly time: string;
  readonly prev: string;
}

export function hashLine(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function tokenFingerprint(accessToken: string): string {
  return createHash('sha256').update(accessToken).digest('hex');
}

/** The line's text: fields in a fixed order, `prev` last, so that the writer and a reader agree byte for byte. */
export function formatLine(line: AuditLine): string {
  const { seq, time, event, client, subject, peer, mailbox, outcome, reason, tokenSha256, tokenExpiresAt, prev } = line;
  return JSON.stringify({ seq, time, event, client, subject, peer, mailbox, outcome, reason, tokenSha256, tokenExpiresAt, prev });
}
