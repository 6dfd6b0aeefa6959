// Application permissions (app roles) an admin consented for an app
// registration, per resource: what client-credentials tokens carry in `roles`.
import { consentResourceKey } from './resource-audiences.js';

/** Consented roles keyed by consentResourceKey. */
export type ConsentedApplicationPermissions = ReadonlyMap<string, readonly string[]>;

/** Checks `SandboxApplication.applicationPermissions` and keys it for lookups; throws TypeError naming the bad key. */
export function parseApplicationPermissions(value: unknown): ConsentedApplicationPermissions {
  const consented = new Map<string, readonly string[]>();
  if (value === undefined) return consented;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError('"applicationPermissions" must be an object of resource URL to permission names');
  }
  for (const [resource, roles] of Object.entries(value as Record<string, unknown>)) {
    const path = `applicationPermissions["${resource}"]`;
    if (!URL.canParse(resource)) throw new TypeError(`"${path}" must be keyed by an absolute resource URL`);
    if (!Array.isArray(roles) || roles.some((role) => typeof role !== 'string' || !/^\S+$/.test(role))) {
      throw new TypeError(`"${path}" must be an array of permission names without whitespace`);
    }
    const key = consentResourceKey(resource);
    // Two spellings of one resource (outlook.office.com and outlook.office365.com) add up.
    consented.set(key, [...new Set([...(consented.get(key) ?? []), ...(roles as string[])])]);
  }
  return consented;
}

/** The `roles` of an app token for `resource`: what was consented for it, else none. */
export function rolesFor(consented: ConsentedApplicationPermissions, resource: string): string[] {
  return [...(consented.get(consentResourceKey(resource)) ?? [])];
}
