// Counts of gRPC calls by method, status and client, kept in nested maps of
// plain numbers and handed to prom-client at scrape time. Written by hand
// because prom-client's Counter.inc(labels) builds a string key from the
// label set on every call, and GetToken, thousands a second, must stay free
// of allocation: here a call is three map look-ups and an addition (a new
// combination allocates once).

type Counts = Map<string, Map<string, Map<string, number>>>;

export class CallCounts {
  readonly #counts: Counts = new Map();

  add(method: string, status: string, client: string): void {
    let byStatus = this.#counts.get(method);
    if (byStatus === undefined) this.#counts.set(method, (byStatus = new Map<string, Map<string, number>>()));
    let byClient = byStatus.get(status);
    if (byClient === undefined) byStatus.set(status, (byClient = new Map<string, number>()));
    byClient.set(client, (byClient.get(client) ?? 0) + 1);
  }

  /** Every combination seen so far with its count (only at scrape time). */
  *entries(): IterableIterator<readonly [method: string, status: string, client: string, count: number]> {
    for (const [method, byStatus] of this.#counts) {
      for (const [status, byClient] of byStatus) {
        for (const [client, count] of byClient) yield [method, status, client, count];
      }
    }
  }
}
