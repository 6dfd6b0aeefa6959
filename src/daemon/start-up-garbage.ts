// A full garbage collection once start-up is done, to keep the peak resident
// memory down. Start-up allocates far more than it keeps: the `yaml`
// package's documents and tokens for a 10,000-mailbox file, the config tree,
// the records read and decrypted (126 MB live at the height of the parse,
// 60-70 MB once serving). V8 collects that only when the heap next reaches
// its limit, which it set high while parsing, so the garbage of the first
// sweep's token requests piled on top of it: the peak of a 10,000-mailbox
// cold start (306 MB) came 5 s after SERVING, at the first major collection.
// `serve` collects once the config is loaded (about 25 ms; the heap drops
// from 126 to 33 MB) and the peak of that start is 247 MB. Collecting later,
// once the store is read, did worse (352 MB): V8 then set its next limit
// from a bigger heap. Measured with bench/fleet-memory.ts (docs/benchmarks.md).
//
// Node has no API to ask for a collection without `--expose-gc` on the
// command line, which `token-broker` cannot require of how it is started
// (systemd unit, npx, a wrapper script). V8 reads the flag when a context is
// made, so the flag is set, a context made to fetch `gc`, and the flag reset;
// the same technique as the `expose-gc` npm package.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collect: (() => void) | undefined;

/** Runs a full, blocking garbage collection (tens of ms for a 10,000-mailbox heap). Returns false if the runtime offers none. */
export function collectGarbage(): boolean {
  collect ??= findCollector();
  if (collect === undefined) return false;
  collect();
  return true;
}

function findCollector(): (() => void) | undefined {
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') return exposed as () => void;
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}
