// One stored value: a record encrypted with AES-256-GCM, as one line of JSON
// that names its format version and key id in clear (so a reader can tell
// "wrong key" from "damaged") and nothing else.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { KeyRing, StoreKey } from './key-ring.js';
import type { RecordKind } from './records.js';

/** The format written today. A reader refuses versions it does not know rather than guess. */
export const ENVELOPE_VERSION = 1;

const ALGORITHM = 'aes-256-gcm';
/** 96-bit random nonces, the size GCM is specified for; a fresh one per write. */
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Where a record lives. Bound into every ciphertext as associated data. */
export interface RecordAddress {
  readonly kind: RecordKind;
  /** The mailbox's name (`mailbox`, `pending`), or the id of a shared token line (`line`: `app:<digest>`). */
  readonly name: string;
}

/** `{"v":1,"kid":"<16 hex>","iv":"<b64url>","ct":"<b64url>","tag":"<b64url>"}` */
interface EnvelopeV1 {
  readonly v: typeof ENVELOPE_VERSION;
  readonly kid: string;
  readonly iv: string;
  readonly ct: string;
  readonly tag: string;
}

export type Unsealed =
  | { readonly ok: true; readonly plaintext: string; readonly key: StoreKey }
  /** Not an envelope at all: damaged, or not written by the broker. */
  | { readonly ok: false; readonly problem: 'malformed' }
  /** Written by a broker that knows a newer format. */
  | { readonly ok: false; readonly problem: 'unsupported-version'; readonly version: number }
  | { readonly ok: false; readonly problem: 'unknown-key'; readonly keyId: string }
  /** The key is known but the tag does not verify: altered, or moved from another address. */
  | { readonly ok: false; readonly problem: 'unauthentic'; readonly keyId: string };

export function seal(plaintext: string, key: StoreKey, address: RecordAddress): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key.key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(associatedData(ENVELOPE_VERSION, key.id, address));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const envelope: EnvelopeV1 = {
    v: ENVELOPE_VERSION,
    kid: key.id,
    iv: iv.toString('base64url'),
    ct: ciphertext.toString('base64url'),
    tag: cipher.getAuthTag().toString('base64url'),
  };
  return JSON.stringify(envelope);
}

export function unseal(sealed: string, ring: KeyRing, address: RecordAddress): Unsealed {
  const envelope = parseEnvelope(sealed);
  if (typeof envelope === 'number') return { ok: false, problem: 'unsupported-version', version: envelope };
  if (envelope === undefined) return { ok: false, problem: 'malformed' };
  const key = ring.find(envelope.kid);
  if (key === undefined) return { ok: false, problem: 'unknown-key', keyId: envelope.kid };
  const iv = strictBase64url(envelope.iv);
  const ciphertext = strictBase64url(envelope.ct);
  const tag = strictBase64url(envelope.tag);
  if (iv?.length !== IV_BYTES || ciphertext === undefined || tag?.length !== TAG_BYTES) return { ok: false, problem: 'malformed' };
  try {
    const decipher = createDecipheriv(ALGORITHM, key.key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(associatedData(envelope.v, envelope.kid, address));
    decipher.setAuthTag(tag);
    const plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
    return { ok: true, plaintext, key };
  } catch {
    return { ok: false, problem: 'unauthentic', keyId: envelope.kid };
  }
}

/**
 * Binds the ciphertext to what the reader expects: a record copied to
 * another mailbox, from a mailbox to a pending authorization, or between a
 * mailbox and a token line, no longer verifies. JSON makes the encoding unambiguous whatever the mailbox name holds.
 */
function associatedData(version: number, keyId: string, address: RecordAddress): Buffer {
  return Buffer.from(JSON.stringify(['token-broker', version, address.kind, address.name, keyId]), 'utf8');
}

/** The envelope, the version number of a newer format, or undefined when it is no envelope. */
function parseEnvelope(sealed: string): EnvelopeV1 | number | undefined {
  let value: unknown;
  try {
    value = JSON.parse(sealed);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const fields = value as Record<string, unknown>;
  const { v, kid, iv, ct, tag } = fields;
  if (typeof v === 'number' && Number.isInteger(v) && v > ENVELOPE_VERSION) return v;
  if (v !== ENVELOPE_VERSION || typeof kid !== 'string' || !/^[0-9a-f]{16}$/.test(kid)) return undefined;
  if (typeof iv !== 'string' || typeof ct !== 'string' || typeof tag !== 'string') return undefined;
  return { v, kid, iv, ct, tag };
}

/**
 * Node's base64url decoder skips characters it does not know and ignores
 * spare bits, so two different texts can decode alike; only the canonical
 * text of the bytes is accepted, and any changed character is noticed.
 */
function strictBase64url(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : undefined;
}
