// The warnings of coming credential deaths: one log line when a death
// crosses 14, 7 or 1 days ahead (warn, warn, error) or passes (error), said
// once per threshold per credential, not on every evaluation. What was said
// lives in memory: a restarted broker says the current threshold once more.
import type { Logger } from 'pino';
import type { CredentialDeath } from './credential-death.js';
import { DAY_MS } from './facts.js';
import { credentialLabel, warningLevel } from './warning-level.js';
import type { WarningLevel } from './warning-level.js';

/** A death and whose it is: a mailbox's, or the broker's own (server.tls) without one. */
export interface ForecastSubject {
  readonly mailbox?: string;
  readonly death: CredentialDeath;
  /**
   * The token line the mailbox is on: the mailboxes of a shared application token share its secret or
   * certificate, so one death of a line is one warning, named after the first mailbox that brings it.
   */
  readonly line?: string;
}

export class DeathWarnings {
  readonly #logger: Logger;
  /** The threshold last said, per credential (subjectKey). */
  readonly #said = new Map<string, WarningLevel>();

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /**
   * Logs each death that crossed a threshold since the last evaluation; a
   * death that moved out again (a renewed secret, a keep-alive that got
   * through) is forgotten, so its next approach is warned about anew. Returns
   * how many lines were logged.
   */
  evaluate(subjects: Iterable<ForecastSubject>, now: number): number {
    const seen = new Set<string>();
    const linesSeen = new Set<string>();
    let logged = 0;
    for (const subject of subjects) {
      // Most of a fleet is further away than 14 days: no key is built for them (it was most of the cost at
      // 10,000 mailboxes), and one said before is forgotten below as unseen, so its next approach is warned anew.
      const level = warningLevel(subject.death.at, now);
      if (level === undefined) continue;
      if (subject.line !== undefined) {
        const { credential, basis, at } = subject.death;
        const lineKey = `${subject.line} ${credential} ${basis} ${at}`;
        if (linesSeen.has(lineKey)) continue;
        linesSeen.add(lineKey);
      }
      const key = subjectKey(subject);
      seen.add(key);
      if (this.#said.get(key) === level) continue;
      this.#said.set(key, level);
      this.#log(subject, level, now);
      logged++;
    }
    // Deaths moved away again, mailboxes a reload removed, credentials no longer used: nothing to remember.
    for (const key of this.#said.keys()) if (!seen.has(key)) this.#said.delete(key);
    return logged;
  }

  #log(subject: ForecastSubject, level: WarningLevel, now: number): void {
    const { mailbox, death } = subject;
    const daysLeft = Math.floor((death.at - now) / DAY_MS);
    const expectedAt = new Date(death.at).toISOString();
    const whose = mailbox === undefined ? 'the broker' : `mailbox ${mailbox}`;
    const what = credentialLabel(death.credential);
    const when =
      level === 'past'
        ? `is expected to have stopped working on ${expectedAt}`
        : `is expected to stop working in ${daysLeft < 1 ? 'less than a day' : `${daysLeft} day${daysLeft === 1 ? '' : 's'}`}, on ${expectedAt}`;
    const fields = { ...(mailbox === undefined ? {} : { mailbox }), credential: death.credential, basis: death.basis, expectedAt, daysLeft, threshold: level };
    const message = `${whose}: the ${what} ${when}. ${death.reason}`;
    if (level === 'past' || level === 1) this.#logger.error(fields, message);
    else this.#logger.warn(fields, message);
  }
}

/** One credential: whose, which, on what grounds (two server certificates differ in their reason). */
function subjectKey(subject: ForecastSubject): string {
  const { death } = subject;
  return [subject.mailbox ?? '', death.credential, death.basis, death.reason].join('\u0000');
}
