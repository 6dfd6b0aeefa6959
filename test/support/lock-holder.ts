// A broker instance reduced to a lock holder, run as its own process so a
// test can SIGKILL it mid-work: opens the redis store, takes the lock, prints
// "held" and then works forever (renewing the lock) until killed.
// Usage: node lock-holder.js REDIS_URL KEY_FILE LOCK_NAME TTL_MS
import { createLogger } from '../../src/logging/index.js';
import { openTokenStore } from '../../src/store/index.js';

const [url, encryptionKeyFile, name, ttl] = process.argv.slice(2);
if (url === undefined || encryptionKeyFile === undefined || name === undefined || ttl === undefined) {
  process.stderr.write('usage: lock-holder.js REDIS_URL KEY_FILE LOCK_NAME TTL_MS\n');
  process.exit(2);
}
const store = await openTokenStore({ url, encryptionKeyFile }, { logger: createLogger('warn', 2), lockTtlMs: Number(ttl) });
await store.withLock(
  name,
  () =>
    new Promise<never>(() => {
      process.stdout.write('held\n');
      // Keeps the process alive on its own, whatever the redis client does.
      setInterval(() => undefined, 60_000);
    }),
);
