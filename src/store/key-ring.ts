// The keys the store knows: the current one (every write) and old ones kept
// read-only, each named by a key id that is stored beside every record so a
// reader can tell "wrong key" from "damaged record".
import { createHash, createSecretKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

/** Hex characters of sha256(key) that name a key; 64 bits tell a handful of keys apart and reveal nothing. */
const KEY_ID_LENGTH = 16;

export interface StoreKey {
  /** First 16 hex characters of sha256 of the 32 key bytes: `base64 -d FILE | sha256sum | cut -c1-16`. */
  readonly id: string;
  /** A KeyObject rather than a Buffer: it prints as `SecretKeyObject {}`, never as the bytes. */
  readonly key: KeyObject;
  /** Where it was read from, for messages. */
  readonly file: string;
}

export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, KEY_ID_LENGTH);
}

export function storeKey(bytes: Buffer, file: string): StoreKey {
  return { id: keyIdOf(bytes), key: createSecretKey(bytes), file };
}

export class KeyRing {
  readonly current: StoreKey;
  readonly previous: readonly StoreKey[];
  readonly #byId: ReadonlyMap<string, StoreKey>;

  constructor(current: StoreKey, previous: readonly StoreKey[] = []) {
    this.current = current;
    // The same key listed twice (or the current one among the old) is harmless: keep the first.
    const byId = new Map<string, StoreKey>([[current.id, current]]);
    for (const key of previous) if (!byId.has(key.id)) byId.set(key.id, key);
    this.previous = [...byId.values()].slice(1);
    this.#byId = byId;
  }

  find(id: string): StoreKey | undefined {
    return this.#byId.get(id);
  }

  /** `0123456789abcdef (current, /path), ... (previous, /old)`: for "no key with that id" messages. */
  describe(): string {
    return [
      `${this.current.id} (current, ${this.current.file})`,
      ...this.previous.map((key) => `${key.id} (previous, ${key.file})`),
    ].join(', ');
  }
}
