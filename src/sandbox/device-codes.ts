// Device authorization requests and what the (simulated) user did with them:
// pending until a test approves or declines the user code, 15 minutes on the
// sandbox clock, redeemable once.
import { randomBytes, randomInt } from 'node:crypto';
import type { UserScopes } from './scopes.js';

export const DEVICE_CODE_LIFETIME_SECONDS = 900;

/** Entra's user codes are 8-9 upper-case letters and digits; ambiguous ones (0/O, 1/I) left out. */
const USER_CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const USER_CODE_LENGTH = 9;

export type DeviceCodeState =
  | { readonly kind: 'pending' }
  | { readonly kind: 'approved'; readonly userObjectId: string }
  | { readonly kind: 'declined' }
  | { readonly kind: 'redeemed'; readonly userObjectId: string };

export interface DeviceCodeRecord {
  readonly deviceCode: string;
  readonly userCode: string;
  readonly clientId: string;
  /** The directory's tenant id, or undefined when requested on `organizations`/`common`. */
  readonly tenantId: string | undefined;
  readonly scopes: UserScopes;
  readonly expiresAt: number;
  state: DeviceCodeState;
}

export class DeviceCodeStore {
  readonly #byDeviceCode = new Map<string, DeviceCodeRecord>();
  readonly #byUserCode = new Map<string, DeviceCodeRecord>();

  issue(request: Pick<DeviceCodeRecord, 'clientId' | 'tenantId' | 'scopes'>, now: number): DeviceCodeRecord {
    const record: DeviceCodeRecord = {
      ...request,
      deviceCode: `DAQABIQEAAAB${randomBytes(96).toString('base64url')}`,
      userCode: this.#newUserCode(),
      expiresAt: now + DEVICE_CODE_LIFETIME_SECONDS * 1000,
      state: { kind: 'pending' },
    };
    this.#byDeviceCode.set(record.deviceCode, record);
    this.#byUserCode.set(record.userCode, record);
    return record;
  }

  findByDeviceCode(deviceCode: string): DeviceCodeRecord | undefined {
    return this.#byDeviceCode.get(deviceCode);
  }

  /** People type codes in any case; the verification page does not mind. */
  findByUserCode(userCode: string): DeviceCodeRecord | undefined {
    return this.#byUserCode.get(userCode.trim().toUpperCase());
  }

  /** What the user's sign-in at the verification page does; a test's mistake throws. */
  approve(userCode: string, user: { readonly objectId: string; readonly tenantId: string; readonly username: string }, now: number): void {
    const record = this.#pending(userCode, now);
    if (record.tenantId !== undefined && record.tenantId.toLowerCase() !== user.tenantId.toLowerCase()) {
      throw new RangeError(`user '${user.username}' is not in tenant ${record.tenantId}, where device code ${record.userCode} was requested`);
    }
    record.state = { kind: 'approved', userObjectId: user.objectId };
  }

  decline(userCode: string, now: number): void {
    this.#pending(userCode, now).state = { kind: 'declined' };
  }

  #pending(userCode: string, now: number): DeviceCodeRecord {
    const record = this.findByUserCode(userCode);
    if (record === undefined) throw new RangeError(`no device code has user code '${userCode}'`);
    if (now >= record.expiresAt) throw new RangeError(`user code '${record.userCode}' has expired`);
    if (record.state.kind !== 'pending') throw new RangeError(`user code '${record.userCode}' was already ${record.state.kind}`);
    return record;
  }

  #newUserCode(): string {
    for (;;) {
      let code = '';
      for (let index = 0; index < USER_CODE_LENGTH; index += 1) code += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)];
      if (!this.#byUserCode.has(code)) return code;
    }
  }
}
