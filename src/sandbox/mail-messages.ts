// Inbox messages for the Graph endpoint: what `deliverMessage` stored, in the
// shape Graph lists them (newest first).
import { randomBytes } from 'node:crypto';
import type { SandboxMessage } from './types.js';

/** Graph cuts `bodyPreview` at 255 characters. */
const PREVIEW_LENGTH = 255;

export interface GraphMessage {
  readonly id: string;
  readonly subject: string;
  /** ISO 8601 in UTC without fractions, as Graph writes it. */
  readonly receivedDateTime: string;
  readonly bodyPreview: string;
  readonly from: { readonly emailAddress: { readonly address: string } };
}

export class MessageStore {
  /** Keyed by lower-case mailbox; oldest first. */
  readonly #inboxes = new Map<string, GraphMessage[]>();

  deliver(mailbox: string, message: SandboxMessage, now: number): string {
    const { subject, from, body } = message;
    for (const [name, value] of Object.entries({ subject, from, body })) {
      if (typeof value !== 'string') throw new TypeError(`"message.${name}" must be a string`);
    }
    // Graph's ids are long opaque base64 strings; only their uniqueness matters here.
    const id = `AAMk${randomBytes(24).toString('base64url')}`;
    const stored: GraphMessage = {
      id,
      subject,
      receivedDateTime: new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      bodyPreview: body.replace(/\s+/g, ' ').trim().slice(0, PREVIEW_LENGTH),
      from: { emailAddress: { address: from } },
    };
    const inbox = this.#inboxes.get(mailbox.toLowerCase()) ?? [];
    inbox.push(stored);
    this.#inboxes.set(mailbox.toLowerCase(), inbox);
    return id;
  }

  /** Newest first, as Graph's default `$orderby=receivedDateTime desc`; delivery order breaks ties. */
  inbox(mailbox: string): GraphMessage[] {
    return [...(this.#inboxes.get(mailbox.toLowerCase()) ?? [])].reverse();
  }
}
