// One thing the doctor found: how bad, what, and what to change where.
export type FindingLevel = 'ok' | 'warning' | 'error';

export interface Finding {
  readonly level: FindingLevel;
  /** A short stable name of the check: audience, permission, grant, tenant, user, expiry, app, cloud, scopes, format. */
  readonly check: string;
  readonly message: string;
  /** What to change, and where (the Entra permission, the config key, the Exchange cmdlet). */
  readonly fix?: string;
}

export const ok = (check: string, message: string): Finding => ({ level: 'ok', check, message });
export const warning = (check: string, message: string, fix?: string): Finding => ({ level: 'warning', check, message, ...(fix === undefined ? {} : { fix }) });
export const error = (check: string, message: string, fix?: string): Finding => ({ level: 'error', check, message, ...(fix === undefined ? {} : { fix }) });
