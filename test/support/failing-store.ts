// A token store whose writes fail on demand, as a full disk makes them fail
// (SQLITE_FULL): reads go on working, every put is refused with the
// store_unavailable error the real store raises. For engine tests of what
// the broker does with a record it cannot store.
import { BrokerError } from '../../src/errors/index.js';
import type { LineRecord, MailboxRecord, TokenStore } from '../../src/store/index.js';

export interface FailingStore {
  /** The store as the broker sees it. */
  readonly store: TokenStore;
  /** The store underneath, which holds only what was really written. */
  readonly inner: TokenStore;
  /** While true, putMailbox and putLine fail. */
  failing: boolean;
  /** The refresh token of every record the broker tried to write while failing ('' without one). */
  readonly refused: string[];
}

export function failingStore(inner: TokenStore): FailingStore {
  const state = { failing: false, refused: [] as string[] };
  const refuse = (what: string, record: MailboxRecord): Promise<void> => {
    state.refused.push(record.refreshToken ?? '');
    return Promise.reject(
      new BrokerError(`token store ${inner.description} is unavailable: cannot write ${what} (SQLITE_FULL: database or disk is full).`, {
        code: 'store_unavailable',
        remediation: 'Free space on the disk that holds the store.',
      }),
    );
  };
  const store = new Proxy(inner, {
    get(target, property, receiver) {
      if (property === 'putMailbox') {
        return (mailbox: string, record: MailboxRecord): Promise<void> =>
          state.failing ? refuse(`the record of mailbox ${mailbox}`, record) : target.putMailbox(mailbox, record);
      }
      if (property === 'putLine') {
        return (line: string, record: LineRecord): Promise<void> =>
          state.failing ? refuse(`the shared record of token line ${line}`, record) : target.putLine(line, record);
      }
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return {
    store,
    inner,
    get failing() {
      return state.failing;
    },
    set failing(value: boolean) {
      state.failing = value;
    },
    refused: state.refused,
  };
}
