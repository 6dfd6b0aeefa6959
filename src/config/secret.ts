// A secret read from the config (client secret, password, proxy password,
// client key). It prints as "[redacted]" in every form a logger, an error
// message or util.inspect may use, so a secret can only leave through
// `reveal()`, which grep finds.
import { inspect } from 'node:util';

export class Secret {
  readonly #value: string;
  /** Where it came from, for messages: `mailboxes.sales.clientSecretFile (/etc/...)`. */
  readonly origin: string;

  constructor(value: string, origin: string) {
    this.#value = value;
    this.origin = origin;
  }

  reveal(): string {
    return this.#value;
  }

  equals(other: Secret | undefined): boolean {
    return other !== undefined && other.#value === this.#value;
  }

  toString(): string {
    return '[redacted]';
  }

  toJSON(): string {
    return '[redacted]';
  }

  [inspect.custom](): string {
    return '[redacted]';
  }
}
