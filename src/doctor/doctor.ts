// token-broker doctor: why a mailbox's token would (not) open its mailbox.
// Reads the mailbox from the config, checks the daemon's current token
// against what the protocol needs, and, asked to, logs in for real.
import type { MailboxConfig } from '../config/index.js';
import type { MailSecurity, SaslMechanism } from '../mail/index.js';
import { error as errorFinding } from './findings.js';
import type { Finding } from './findings.js';
import { probeLogin } from './probe.js';
import type { ProbeResult } from './probe.js';
import { checkToken } from './token-checks.js';
import type { DecodedToken } from './token-claims.js';

export interface DoctorToken {
  readonly accessToken: string;
  readonly expiresAt: Date;
  readonly scopes: readonly string[];
  readonly username: string;
  readonly saslXoauth2: string;
  readonly saslOauthbearer: string;
}

export interface DoctorProbeOptions {
  readonly host: string;
  readonly port: number;
  readonly security: MailSecurity;
  /** PEM trust beside the system roots. */
  readonly ca?: string;
  readonly timeoutMs: number;
  /** --mechanism: this SASL mechanism, not the one chosen from the server's offer. */
  readonly mechanism?: SaslMechanism;
}

export interface DoctorRequest {
  readonly mailbox: MailboxConfig;
  /** The daemon's current token; a rejection is reported as a finding. */
  readonly getToken: () => Promise<DoctorToken>;
  /** Says why getToken failed, for the finding. */
  readonly describeTokenError: (error: unknown) => string;
  readonly probe?: DoctorProbeOptions;
  readonly now: () => number;
}

export interface DoctorReport {
  readonly mailbox: string;
  readonly protocol: string;
  readonly grantType: string;
  readonly authorizationServer: string;
  readonly cloud?: string;
  /** The login user: sharedMailbox if set, else username. */
  readonly loginUser: string;
  readonly proxy?: string;
  /** What the token says of itself (never the token); absent when there was none. */
  readonly token?: DecodedToken & { readonly expiresAt: string; readonly grantedScopes: readonly string[] };
  readonly findings: readonly Finding[];
  readonly probe?: ProbeResult;
  /** No error finding, and the probe (if any) logged in. */
  readonly healthy: boolean;
}

export async function runDoctor(request: DoctorRequest): Promise<DoctorReport> {
  const { mailbox } = request;
  const header = {
    mailbox: mailbox.name,
    protocol: mailbox.protocol,
    grantType: mailbox.grantType,
    authorizationServer: mailbox.authorizationServer.name,
    ...(mailbox.authorizationServer.type === 'microsoft' ? { cloud: mailbox.authorizationServer.cloud ?? 'global' } : {}),
    loginUser: mailbox.sharedMailbox ?? mailbox.username,
    ...(mailbox.proxy === undefined ? {} : { proxy: mailbox.proxy.name }),
  };
  let token: DoctorToken;
  try {
    token = await request.getToken();
  } catch (error) {
    const findings = [errorFinding('token', `no token from the daemon: ${request.describeTokenError(error)}`, `See token-broker status; token-broker authorize ${mailbox.name} if it needs authorization.`)];
    return { ...header, findings, healthy: false };
  }
  const checked = checkToken(mailbox, token, request.now());
  const tokenSummary = { ...checked.token, expiresAt: token.expiresAt.toISOString(), grantedScopes: token.scopes };
  let probe: ProbeResult | undefined;
  if (request.probe !== undefined) {
    if (mailbox.protocol === 'graph') throw new Error('--probe is for IMAP, POP3 and SMTP mailboxes');
    const kind = checked.token.format === 'jwt' ? checked.token.kind : mailbox.grantType === 'client-credentials' ? 'app' : 'user';
    probe = await probeLogin({
      protocol: mailbox.protocol,
      host: request.probe.host,
      port: request.probe.port,
      security: request.probe.security,
      ...(request.probe.ca === undefined ? {} : { ca: request.probe.ca }),
      ...(mailbox.proxy === undefined ? {} : { proxy: mailbox.proxy }),
      timeoutMs: request.probe.timeoutMs,
      ...(request.probe.mechanism === undefined ? {} : { mechanism: request.probe.mechanism }),
      token: { saslXoauth2: token.saslXoauth2, saslOauthbearer: token.saslOauthbearer },
      context: {
        protocol: mailbox.protocol,
        kind,
        mailbox: mailbox.name,
        loginUser: header.loginUser,
        username: mailbox.username,
        clientId: mailbox.clientId,
        // A server that only says "refused" (Dovecot) is explained by what the checks found wrong with the token.
        tokenProblems: checked.findings.filter((finding) => finding.level === 'error').map(({ check, fix }) => ({ check, ...(fix === undefined ? {} : { fix }) })),
      },
    });
  }
  const healthy = !checked.findings.some((finding) => finding.level === 'error') && (probe === undefined || probe.accepted);
  return { ...header, token: tokenSummary, findings: checked.findings, ...(probe === undefined ? {} : { probe }), healthy };
}

/** The report for a person: a header, one line per finding with its fix, the probe's answer and transcript. */
export function formatReport(report: DoctorReport): string[] {
  const lines: string[] = [];
  lines.push(
    `mailbox ${report.mailbox}: ${report.protocol}, ${report.grantType}, server ${report.authorizationServer}${report.cloud === undefined ? '' : ` (cloud ${report.cloud})`}, ` +
      `logs in as ${report.loginUser}${report.proxy === undefined ? '' : `, through proxy ${report.proxy}`}`,
  );
  const token = report.token;
  if (token !== undefined) {
    if (token.format === 'jwt') {
      const permissions = token.kind === 'app' ? `roles ${token.roles.join(' ') || '(none)'}` : `scp ${token.scopes.join(' ') || '(none)'}`;
      lines.push(
        `token: JWT, ${token.kind === 'app' ? 'application' : `delegated (${token.user ?? 'user not named'})`}, aud ${token.audience ?? '(none)'}, ${permissions}, ` +
          `tenant ${token.tenantId ?? '(none)'}, app ${token.appId ?? '(none)'}, expires ${token.expiresAt}`,
      );
    } else {
      lines.push(`token: opaque, granted ${token.grantedScopes.join(' ') || '(scopes not given)'}, expires ${token.expiresAt}`);
    }
  }
  for (const finding of report.findings) {
    lines.push(`  ${finding.level.padEnd(7)} ${finding.check}: ${finding.message}`);
    if (finding.fix !== undefined) lines.push(`          fix: ${finding.fix}`);
  }
  const probe = report.probe;
  if (probe !== undefined) {
    const how = `${report.protocol.toUpperCase()} ${probe.host}:${probe.port} (${probe.security}${probe.mechanism === undefined ? '' : `, ${probe.mechanism}`}${probe.proxy === undefined ? '' : `, through proxy ${probe.proxy}`})`;
    if (probe.error !== undefined) {
      lines.push(`probe ${how}: could not log in: ${probe.error.message} [${probe.error.code}]`);
      if (probe.error.remediation !== undefined) lines.push(`          fix: ${probe.error.remediation}`);
    } else {
      lines.push(`probe ${how}: ${probe.accepted ? 'logged in' : 'REFUSED'}`);
      for (const line of probe.reply) lines.push(`  server: ${line}`);
      if (probe.errorDetail !== undefined) lines.push(`  error challenge: ${typeof probe.errorDetail === 'string' ? probe.errorDetail : JSON.stringify(probe.errorDetail)}`);
      if (probe.explanation !== undefined) {
        lines.push(`  meaning: ${probe.explanation.meaning}`);
        lines.push(`          fix: ${probe.explanation.fix}`);
      }
    }
    if (probe.transcript.length > 0) {
      lines.push('  transcript:');
      for (const line of probe.transcript) lines.push(`    ${line}`);
    }
  }
  const errors = report.findings.filter((finding) => finding.level === 'error').length;
  const warnings = report.findings.filter((finding) => finding.level === 'warning').length;
  lines.push(
    report.healthy
      ? `result: no errors${warnings > 0 ? `, ${warnings} warning(s)` : ''}${probe === undefined ? '' : ', the login worked'}.`
      : `result: ${errors} error(s)${warnings > 0 ? `, ${warnings} warning(s)` : ''}${probe !== undefined && !probe.accepted ? ', the login failed' : ''}.`,
  );
  return lines;
}
