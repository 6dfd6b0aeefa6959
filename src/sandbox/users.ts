// The directory's users: UPN, password, kind (managed, federated, MFA) and a
// session generation that revocation and password changes bump, which is how
// refresh tokens issued earlier learn they are dead (AADSTS50173).
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { RegisteredSandboxUser, SandboxUser, SandboxUserKind } from './types.js';

export interface UserRecord extends RegisteredSandboxUser {
  readonly password: string;
  /** Refresh tokens carry the generation they were issued in; a bump revokes them all. */
  readonly sessionGeneration: number;
  /** Milliseconds since the epoch of the last revocation (Entra's TokensValidFrom). */
  readonly tokensValidFrom: number;
}

const KINDS: ReadonlySet<string> = new Set<SandboxUserKind>(['managed', 'federated', 'mfa']);

export class UserDirectory {
  /** Keyed by lower-case UPN: a UPN names one user in one tenant, as on Entra. */
  readonly #users = new Map<string, UserRecord>();

  /** `tenantId` must already be the directory's spelling of the tenant. */
  register(user: SandboxUser, tenantId: string, now: number): RegisteredSandboxUser {
    const username = requireUpn(user.username);
    if (typeof user.password !== 'string' || user.password.length === 0) {
      throw new TypeError('"password" must be a non-empty string');
    }
    const kind = user.kind ?? 'managed';
    if (!KINDS.has(kind)) throw new TypeError(`"kind" must be one of managed, federated, mfa, got '${String(kind)}'`);
    const existing = this.#users.get(username.toLowerCase());
    if (existing !== undefined && existing.tenantId.toLowerCase() !== tenantId.toLowerCase()) {
      throw new TypeError(`"username" '${username}' already belongs to tenant ${existing.tenantId}`);
    }
    const passwordChanged = existing !== undefined && existing.password !== user.password;
    const record: UserRecord = {
      tenantId,
      username,
      objectId: existing?.objectId ?? randomUUID(),
      kind,
      displayName: user.displayName ?? username.slice(0, username.indexOf('@')),
      password: user.password,
      sessionGeneration: (existing?.sessionGeneration ?? 0) + (passwordChanged ? 1 : 0),
      tokensValidFrom: passwordChanged ? now : (existing?.tokensValidFrom ?? 0),
    };
    this.#users.set(username.toLowerCase(), record);
    return publicView(record);
  }

  find(username: string): UserRecord | undefined {
    return this.#users.get(username.toLowerCase());
  }

  findByObjectId(objectId: string): UserRecord | undefined {
    for (const user of this.#users.values()) if (user.objectId === objectId) return user;
    return undefined;
  }

  /** The user when `tenant` has exactly one: who the authorize endpoint signs in without a hint. */
  onlyUserOf(tenantId: string): UserRecord | undefined {
    const members = [...this.#users.values()].filter((user) => user.tenantId.toLowerCase() === tenantId.toLowerCase());
    return members.length === 1 ? members[0] : undefined;
  }

  revokeSessions(username: string, now: number): void {
    const user = this.#require(username);
    this.#users.set(user.username.toLowerCase(), { ...user, sessionGeneration: user.sessionGeneration + 1, tokensValidFrom: now });
  }

  changePassword(username: string, newPassword: string, now: number): void {
    if (typeof newPassword !== 'string' || newPassword.length === 0) {
      throw new TypeError('"newPassword" must be a non-empty string');
    }
    const user = this.#require(username);
    this.#users.set(user.username.toLowerCase(), {
      ...user,
      password: newPassword,
      sessionGeneration: user.sessionGeneration + 1,
      tokensValidFrom: now,
    });
  }

  #require(username: string): UserRecord {
    const user = this.find(username);
    if (user === undefined) throw new RangeError(`no user '${username}' is registered`);
    return user;
  }
}

/** Constant-time over equal-length digests, so timing reveals nothing of the password. */
export function passwordMatches(user: UserRecord, given: string): boolean {
  const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(user.password), digest(given));
}

function publicView(user: UserRecord): RegisteredSandboxUser {
  return {
    tenantId: user.tenantId,
    username: user.username,
    objectId: user.objectId,
    kind: user.kind,
    displayName: user.displayName,
  };
}

function requireUpn(value: unknown): string {
  if (typeof value !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(value)) {
    throw new TypeError(`"username" must be a UPN like name@domain, got '${String(value)}'`);
  }
  return value;
}
