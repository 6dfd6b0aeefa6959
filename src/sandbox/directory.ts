// The tenants and app registrations the sandbox knows. Lookups ignore case,
// as Entra's do for GUIDs, and keep the registered spelling for token claims.
import { randomUUID } from 'node:crypto';
import { parseRegisteredCertificate } from './client-assertion.js';
import type { RegisteredCertificate } from './client-assertion.js';
import { parseApplicationPermissions } from './application-permissions.js';
import type { ConsentedApplicationPermissions } from './application-permissions.js';
import type { SandboxApplication } from './types.js';

/** Tenant path segments that name an audience, not a directory. */
export const GENERAL_AUDIENCES: ReadonlySet<string> = new Set(['common', 'organizations', 'consumers']);

/**
 * First path segments the router gives to the resource servers (Exchange's
 * introspection, Graph's `v1.0`) before it reads a tenant: no tenant may be
 * named so, or its endpoints could never be reached.
 */
export const RESOURCE_SERVER_SEGMENTS: ReadonlySet<string> = new Set(['exchange', 'v1.0']);

export interface RegisteredApplication {
  readonly tenantId: string;
  readonly clientId: string;
  readonly clientSecret: string | undefined;
  /** Object id of the app's service principal: the `oid`/`sub` of its tokens. */
  readonly objectId: string;
  readonly redirectUris: readonly string[];
  readonly publicClient: boolean;
  readonly certificates: readonly RegisteredCertificate[];
  /** Admin-consented app roles per resource: the `roles` of its client-credentials tokens. */
  readonly applicationPermissions: ConsentedApplicationPermissions;
}

interface Tenant {
  /** The spelling first registered, used in claims. */
  readonly tenantId: string;
  readonly applications: Map<string, RegisteredApplication>;
}

export class Directory {
  readonly #tenants = new Map<string, Tenant>();

  register(app: SandboxApplication): RegisteredApplication {
    const tenantId = requireSegment('tenantId', app.tenantId);
    const clientId = requireSegment('clientId', app.clientId);
    if (app.clientSecret !== undefined && app.clientSecret.length === 0) {
      throw new TypeError('"clientSecret" must be a non-empty string when given');
    }
    const redirectUris = (app.redirectUris ?? []).map((uri, index) => requireAbsoluteUrl(`redirectUris[${index}]`, uri));
    const certificates = (app.certificates ?? []).map((pem, index) => parseRegisteredCertificate(`certificates[${index}]`, pem));
    const applicationPermissions = parseApplicationPermissions(app.applicationPermissions);
    const tenant = this.#ensureTenant(tenantId);
    const existing = tenant.applications.get(clientId.toLowerCase());
    const registered: RegisteredApplication = {
      tenantId: tenant.tenantId,
      clientId,
      clientSecret: app.clientSecret,
      // Re-registering (say, to rotate a secret) keeps the service principal.
      objectId: existing?.objectId ?? randomUUID(),
      redirectUris,
      publicClient: app.publicClient === true,
      certificates,
      applicationPermissions,
    };
    tenant.applications.set(clientId.toLowerCase(), registered);
    return registered;
  }

  /** Creates the tenant if needed (users may be added before any application) and returns its registered spelling. */
  addTenant(tenantId: string): string {
    return this.#ensureTenant(tenantId).tenantId;
  }

  #ensureTenant(tenantId: string): Tenant {
    requireTenantId(tenantId);
    let tenant = this.#tenants.get(tenantId.toLowerCase());
    if (tenant === undefined) {
      tenant = { tenantId, applications: new Map() };
      this.#tenants.set(tenantId.toLowerCase(), tenant);
    }
    return tenant;
  }

  hasTenant(tenant: string): boolean {
    return this.#tenants.has(tenant.toLowerCase());
  }

  /** The registered spelling of a tenant id, if the tenant exists. */
  tenantId(tenant: string): string | undefined {
    return this.#tenants.get(tenant.toLowerCase())?.tenantId;
  }

  findApplication(tenant: string, clientId: string): RegisteredApplication | undefined {
    return this.#tenants.get(tenant.toLowerCase())?.applications.get(clientId.toLowerCase());
  }

  /**
   * For `common`/`organizations` requests before a user is known: the first
   * registration of the client id in any tenant (a multi-tenant app is
   * registered once per tenant here).
   */
  findApplicationAnywhere(clientId: string): RegisteredApplication | undefined {
    for (const tenant of this.#tenants.values()) {
      const application = tenant.applications.get(clientId.toLowerCase());
      if (application !== undefined) return application;
    }
    return undefined;
  }
}

/** A directory id: a path segment, never one of the audiences. */
export function requireTenantId(value: unknown): string {
  const tenantId = requireSegment('tenantId', value);
  if (GENERAL_AUDIENCES.has(tenantId.toLowerCase())) {
    throw new TypeError(`"tenantId" must name a directory, not the '${tenantId}' audience`);
  }
  if (RESOURCE_SERVER_SEGMENTS.has(tenantId.toLowerCase())) {
    throw new TypeError(`"tenantId" must not be '${tenantId}': the sandbox serves its resource endpoints under that path`);
  }
  return tenantId;
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

function requireAbsoluteUrl(name: string, value: unknown): string {
  if (typeof value !== 'string' || !URL.canParse(value)) {
    throw new TypeError(`"${name}" must be an absolute URL`);
  }
  return value;
}
