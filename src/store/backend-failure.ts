// How a backend says "unavailable": one error type with a reason fit for an
// operator, and one deadline for every call to redis or sqlite, whether
// through keyv or straight to the redis client (locks, write notices).

export class BackendFailure extends Error {
  override readonly name = 'BackendFailure';
  /** One line for an operator, e.g. `connect ECONNREFUSED 127.0.0.1:6379`. */
  readonly reason: string;
  constructor(reason: string, cause?: unknown) {
    super(reason, cause === undefined ? undefined : { cause });
    this.reason = reason;
  }
}

/**
 * Runs one operation with a deadline (a redis that accepts the connection but
 * never answers must not hold token requests forever); any failure becomes a
 * BackendFailure. `lastError`: the client's last complaint, used when the
 * error at hand only says "not connected".
 */
export async function bounded<T>(operation: () => Promise<T>, timeoutMs: number, lastError?: () => string | undefined): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BackendFailure(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([operation(), deadline]);
  } catch (error) {
    if (error instanceof BackendFailure) throw error;
    throw new BackendFailure(failureReason(error, lastError), error);
  } finally {
    clearTimeout(timer);
  }
}

/** The one-line reason for `error`, preferring the client's own last complaint over "not connected". */
export function failureReason(error: unknown, lastError: (() => string | undefined) | undefined): string {
  const own = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
  const client = lastError?.();
  // @keyv/redis replaces the cause of a failed connection with a generic sentence, and node-redis
  // refuses commands while offline without saying why; the client's own last error does.
  if (client !== undefined && (/not connected|client is offline|socket closed/i.test(own) || own === '')) return client;
  return own;
}
