// Everything the sandbox hands out and later checks: authorization codes,
// device codes, refresh tokens (never rotated, as at Google) and access
// tokens, which look opaque (`ya29.` + random) but are looked up here.
import { randomBytes } from 'node:crypto';
import type { GoogleAccessTokenInfo, GoogleSandboxClock } from './types.js';

export interface AuthorizationCode {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly user: string;
  readonly scope: string;
  readonly codeChallenge: string | undefined;
  readonly codeChallengeMethod: string;
  readonly offline: boolean;
  readonly expiresAt: number;
}

export interface RefreshGrant {
  readonly clientId: string;
  readonly user: string;
  readonly scope: string;
  /** Time-based access: when the grant runs out (ms since the epoch); absent: until revoked. */
  readonly expiresAt?: number;
}

export interface DeviceCode {
  readonly clientId: string;
  readonly userCode: string;
  readonly scope: string;
  readonly expiresAt: number;
  /** Set by approveDeviceCode. */
  user: string | undefined;
}

const CODE_LIFETIME_MS = 10 * 60 * 1000;
export const DEVICE_CODE_LIFETIME_SECONDS = 1800;

const random = (bytes: number): string => randomBytes(bytes).toString('base64url');

export class Issued {
  readonly #clock: GoogleSandboxClock;
  readonly #codes = new Map<string, AuthorizationCode>();
  readonly #deviceCodes = new Map<string, DeviceCode>();
  readonly #refreshTokens = new Map<string, RefreshGrant>();
  readonly #accessTokens = new Map<string, GoogleAccessTokenInfo>();

  constructor(clock: GoogleSandboxClock) {
    this.#clock = clock;
  }

  issueCode(code: Omit<AuthorizationCode, 'expiresAt'>): string {
    const value = `4/0${random(32)}`;
    this.#codes.set(value, { ...code, expiresAt: this.#clock.now() + CODE_LIFETIME_MS });
    return value;
  }

  /** Single use: a code is gone after the first attempt, successful or not. */
  redeemCode(value: string): AuthorizationCode | undefined {
    const code = this.#codes.get(value);
    this.#codes.delete(value);
    return code !== undefined && code.expiresAt > this.#clock.now() ? code : undefined;
  }

  issueDeviceCode(clientId: string, scope: string): { deviceCode: string; code: DeviceCode } {
    const letters = () => Array.from(randomBytes(4), (byte) => String.fromCharCode(65 + (byte % 26))).join('');
    const code: DeviceCode = { clientId, scope, userCode: `${letters()}-${letters()}`, expiresAt: this.#clock.now() + DEVICE_CODE_LIFETIME_SECONDS * 1000, user: undefined };
    const deviceCode = `AH-1Ng${random(32)}`;
    this.#deviceCodes.set(deviceCode, code);
    return { deviceCode, code };
  }

  deviceCode(value: string): DeviceCode | undefined {
    return this.#deviceCodes.get(value);
  }

  approveDeviceCode(userCode: string, user: string): boolean {
    for (const code of this.#deviceCodes.values()) {
      if (code.userCode === userCode && code.user === undefined && code.expiresAt > this.#clock.now()) {
        code.user = user;
        return true;
      }
    }
    return false;
  }

  /** A device code yields its tokens once. */
  consumeDeviceCode(value: string): void {
    this.#deviceCodes.delete(value);
  }

  issueRefreshToken(grant: RefreshGrant): string {
    const value = `1//0${random(48)}`;
    this.#refreshTokens.set(value, grant);
    return value;
  }

  /** The grant of a refresh token that is still good: a time-based one that ran out is gone, as at Google. */
  refreshGrant(value: string): RefreshGrant | undefined {
    const grant = this.#refreshTokens.get(value);
    if (grant?.expiresAt !== undefined && grant.expiresAt <= this.#clock.now()) {
      this.#refreshTokens.delete(value);
      return undefined;
    }
    return grant;
  }

  revokeRefreshTokens(user: string | undefined): void {
    for (const [value, grant] of this.#refreshTokens) {
      if (user === undefined || grant.user === user.toLowerCase()) this.#refreshTokens.delete(value);
    }
  }

  issueAccessToken(info: Omit<GoogleAccessTokenInfo, 'iat' | 'exp'>, lifetimeSeconds: number): string {
    const iat = Math.floor(this.#clock.now() / 1000);
    const value = `ya29.a0${random(96)}`;
    this.#accessTokens.set(value, { ...info, iat, exp: iat + lifetimeSeconds });
    return value;
  }

  accessToken(value: string): GoogleAccessTokenInfo | undefined {
    const info = this.#accessTokens.get(value);
    return info !== undefined && info.exp * 1000 > this.#clock.now() ? info : undefined;
  }
}
