// Which warning threshold (14, 7, 1 days, or past) a death has crossed, and
// the short form `token-broker status` shows: "refresh token 6d !!".
import { WARNING_DAYS } from './credential-death.js';
import type { CredentialKind } from './credential-death.js';
import { DAY_MS } from './facts.js';

/** The threshold crossed: days ahead (WARNING_DAYS), or past (the credential is already dead). */
export type WarningLevel = (typeof WARNING_DAYS)[number] | 'past';

/** The most severe threshold `at` has crossed at `now`; undefined while it is further away than the first. */
export function warningLevel(at: number, now: number): WarningLevel | undefined {
  const left = at - now;
  if (left <= 0) return 'past';
  let level: WarningLevel | undefined;
  for (const days of WARNING_DAYS) if (left <= days * DAY_MS) level = days;
  return level;
}

const CREDENTIAL_LABELS: Readonly<Record<CredentialKind, string>> = {
  refresh_token: 'refresh token',
  client_secret: 'secret',
  certificate: 'certificate',
  server_tls_certificate: 'server certificate',
};

/** What an operator calls the credential. */
export function credentialLabel(credential: string): string {
  return CREDENTIAL_LABELS[credential as CredentialKind] ?? credential.replaceAll('_', ' ');
}

/** One `!` per threshold crossed: 14 days "!", 7 "!!", 1 day or past "!!!". */
const MARKERS: Readonly<Record<string, string>> = { 14: ' !', 7: ' !!', 1: ' !!!', past: ' !!!' };

/** "refresh token 6d", "secret 13d !", "certificate 5h !!!", "refresh token dead !!!". */
export function deathLabel(credential: string, at: number, now: number): string {
  const left = at - now;
  const level = warningLevel(at, now);
  const marker = level === undefined ? '' : (MARKERS[String(level)] ?? '');
  if (left <= 0) return `${credentialLabel(credential)} dead${marker}`;
  const when = left >= DAY_MS ? `${Math.floor(left / DAY_MS)}d` : `${Math.max(1, Math.floor(left / 3_600_000))}h`;
  return `${credentialLabel(credential)} ${when}${marker}`;
}
