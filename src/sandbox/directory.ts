// The tenants and app registrations the sandbox knows. Lookups ignore case,
// as Entra's do for GUIDs, and keep the registered spelling for token claims.
import { randomUUID } from 'node:crypto';
import type { SandboxApplication } from './types.js';

/** Tenant path segments that name an audience, not a directory. */
export const GENERAL_AUDIENCES: ReadonlySet<string> = new Set(['common', 'organizations', 'consumers']);

export interface RegisteredApplication {
  readonly tenantId: string;
  readonly clientId: string;
  readonly clientSecret: string | undefined;
  /** Object id of the app's service principal: the `oid`/`sub` of its tokens. */
  readonly objectId: string;
}

export class Directory {
  readonly #tenants = new Map<string, Map<string, RegisteredApplication>>();

  register(app: SandboxApplication): RegisteredApplication {
    const tenantId = requireSegment('tenantId', app.tenantId);
    const clientId = requireSegment('clientId', app.clientId);
    if (GENERAL_AUDIENCES.has(tenantId.toLowerCase())) {
      throw new TypeError(`"tenantId" must name a directory, not the '${tenantId}' audience`);
    }
    if (app.clientSecret !== undefined && app.clientSecret.length === 0) {
      throw new TypeError('"clientSecret" must be a non-empty string when given');
    }
    let applications = this.#tenants.get(tenantId.toLowerCase());
    if (applications === undefined) {
      applications = new Map();
      this.#tenants.set(tenantId.toLowerCase(), applications);
    }
    const existing = applications.get(clientId.toLowerCase());
    const registered: RegisteredApplication = {
      tenantId: existing?.tenantId ?? tenantId,
      clientId,
      clientSecret: app.clientSecret,
      // Re-registering (say, to rotate a secret) keeps the service principal.
      objectId: existing?.objectId ?? randomUUID(),
    };
    applications.set(clientId.toLowerCase(), registered);
    return registered;
  }

  hasTenant(tenant: string): boolean {
    return this.#tenants.has(tenant.toLowerCase());
  }

  findApplication(tenant: string, clientId: string): RegisteredApplication | undefined {
    return this.#tenants.get(tenant.toLowerCase())?.get(clientId.toLowerCase());
  }
}

function requireSegment(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim().length === 0) {
    throw new TypeError(`"${name}" must be a non-empty string`);
  }
  if (/[/\s?#]/.test(value)) {
    throw new TypeError(`"${name}" must not contain '/', '?', '#' or whitespace`);
  }
  return value;
}
