// One log line per change of a mailbox's state, with its cause. A state is
// computed when asked (TokenLine#state and the mailbox's own token), never
// stored, so nothing announces a change: this remembers the state last
// reported for each mailbox and is asked again after every event that can
// change one (an acquisition starting or ending, a token installed or taken
// up from the store, a failure recorded, a reload, the sweep noticing an
// expired token). A line logs only when the state differs: an event that
// changes nothing costs a comparison per mailbox, not a log line.
import type { Logger } from 'pino';
import type { BrokerError } from '../errors/index.js';
import type { Clock } from '../time/index.js';
import type { MailboxState } from './mailbox-status.js';
import type { LineStatus, TokenLine } from './token-line.js';

/** A reload took the mailbox out of the configuration: it has no state any more. */
export type RemovedState = 'REMOVED';

/** What the log line carries as fields (besides its message). */
export interface StateChange {
  readonly mailbox: string;
  readonly from: MailboxState;
  readonly to: MailboxState | RemovedState;
  readonly cause: string;
  /** The failure's code (BrokerErrorCode) when a failure is the cause. */
  readonly code?: string;
}

/** Ops must act on these; the other states come and go on their own. */
const WARN_STATES: ReadonlySet<string> = new Set<MailboxState>(['FAILING', 'NEEDS_AUTHORIZATION']);

/**
 * The state a mailbox has before anything is known of it: "no token asked
 * for yet". So a mailbox that starts READY from the store, or needing an
 * authorization, logs that change once at start, and one that stays IDLE
 * logs nothing.
 */
const INITIAL_STATE: MailboxState = 'IDLE';

export class MailboxStateChanges {
  readonly #last = new Map<string, MailboxState>();
  readonly #logger: Logger;
  readonly #clock: Clock;

  constructor(logger: Logger, clock: Clock) {
    this.#logger = logger;
    this.#clock = clock;
  }

  /**
   * Something happened on `line` (`event`, in words, for the cause): every
   * mailbox on it whose state is not the one last reported gets a line. A
   * failure that is the reason for the new state is named instead of the event.
   */
  lineEvent(line: TokenLine, event: string): void {
    const now = this.#clock.now();
    // The line's status depends only on whether the member's own token is valid: two at most, however many members share the line.
    let withToken: LineStatus | undefined;
    let withoutToken: LineStatus | undefined;
    for (const member of line.members) {
      const token = member.token;
      const status = token !== undefined && token.expiresAt > now ? (withToken ??= line.status(true)) : (withoutToken ??= line.status(false));
      this.#report(member.config.name, status, event);
    }
  }

  /** A reload removed `mailbox`: its last line says so, and a mailbox of that name added later starts afresh. */
  removed(mailbox: string, event: string): void {
    const from = this.#last.get(mailbox) ?? INITIAL_STATE;
    this.#last.delete(mailbox);
    this.#log({ mailbox, from, to: 'REMOVED', cause: event });
  }

  /** The state last reported for `mailbox` (what the next change is measured against). */
  lastReported(mailbox: string): MailboxState | undefined {
    return this.#last.get(mailbox);
  }

  #report(mailbox: string, status: LineStatus, event: string): void {
    const from = this.#last.get(mailbox) ?? INITIAL_STATE;
    const to = status.state;
    if (to === from) return;
    this.#last.set(mailbox, to);
    const failure = WARN_STATES.has(to) ? status.lastError : undefined;
    if (failure !== undefined) {
      this.#log({ mailbox, from, to, cause: failureCause(mailbox, failure), code: failure.code });
    } else if (to === 'NEEDS_AUTHORIZATION') {
      // An interactive grant without a refresh token: no failure, the mailbox was never authorized (or its authorization was dropped).
      this.#log({ mailbox, from, to, cause: `no refresh token: the mailbox has not been authorized; run: token-broker authorize ${mailbox}` });
    } else {
      this.#log({ mailbox, from, to, cause: event });
    }
  }

  #log(change: StateChange): void {
    const message = `mailbox ${change.mailbox}: ${change.from} -> ${change.to}: ${change.cause}`;
    if (WARN_STATES.has(change.to)) this.#logger.warn(change, message);
    else this.#logger.info(change, message);
  }
}

/**
 * A failure as the cause of a state: its code (and the server's, when that
 * is what ops search for), then what it says. A failure of a shared line
 * names the mailbox whose settings made the request: said so, so the
 * operator of this one looks in the right place.
 */
function failureCause(mailbox: string, failure: BrokerError): string {
  const code = failure.displayCode === failure.code ? failure.code : `${failure.code} ${failure.displayCode}`;
  const shared = failure.mailbox !== undefined && failure.mailbox !== mailbox ? `through the application token it shares with mailbox ${failure.mailbox}: ` : '';
  return `${code} (${shared}${failure.describe()})`;
}
