// `mailboxes`: each is read field by field into a draft, the matrix checks
// run over the draft, and only a mailbox without errors becomes a
// MailboxConfig (with its server, proxy, defaults and scopes resolved).
import { z } from 'zod';
import type { CertificateInfo } from '../certificate.js';
import { checkCertificateFile, checkServiceAccountKeyFile, MAILBOX_CHECKS, resolveFacts } from '../checks/index.js';
import type { CertificateDraft, MailboxDraft, MailboxFacts } from '../checks/index.js';
import type { LoadContext } from '../context.js';
import { absoluteUrl, filePath, mailboxIdentity, oneOf, SAFE_NAME, SAFE_NAME_RULE, scopeList, tenantId, text, thumbprint } from '../fields.js';
import { resolveConfigPath } from '../files.js';
import { withOptional } from '../optional.js';
import { isPresent, kindOf, MappingReader, valueOf } from '../reader.js';
import type { Field } from '../reader.js';
import { defaultScopes } from '../scopes.js';
import { Secret } from '../secret.js';
import { readSecret, secretKeys } from '../secrets.js';
import { AUTHENTICATION_MODES, ENVIRONMENT_PROXY, ENVIRONMENT_PROXY_NAME, GRANT_TYPES, PROTOCOLS, REDIRECT_PLATFORMS } from '../types.js';
import type { CertificateCredential, MailboxConfig, ServiceAccountKey } from '../types.js';
import type { ServerRegistry } from './authorization-servers.js';
import type { ProxyRegistry } from './proxies.js';

export const MAILBOX_KEYS = [
  'protocol',
  'authorizationServer',
  'grantType',
  'tenantId',
  'clientId',
  'authenticationMode',
  ...secretKeys('clientSecret'),
  'clientSecretExpiresAt',
  'certificate',
  'credentialsFile',
  'redirectUri',
  'redirectPlatform',
  'scopes',
  'username',
  ...secretKeys('password'),
  'sharedMailbox',
  'proxy',
];

const CERTIFICATE_KEYS = ['file', 'thumbprint', ...secretKeys('password')];

export async function readMailboxes(ctx: LoadContext, section: Field<MappingReader>, servers: ServerRegistry, proxies: ProxyRegistry): Promise<Map<string, MailboxConfig>> {
  const mailboxes = new Map<string, MailboxConfig>();
  if (section.state !== 'ok' || section.value.node.entries.size === 0) {
    if (section.state !== 'invalid') {
      ctx.sink.warning('mailboxes', 'no mailboxes are configured; the broker has nothing to serve', section.state === 'ok' ? section.at : undefined);
    }
    return mailboxes;
  }
  for (const entry of section.value.entries()) {
    const path = section.value.childPath(entry.key);
    const errorsBefore = ctx.sink.errorCount;
    if (!SAFE_NAME.test(entry.key)) {
      ctx.sink.error(path, `invalid mailbox name; use ${SAFE_NAME_RULE} (names appear in logs, URLs and metric labels)`, entry.keyAt);
    }
    const reader = MappingReader.open(ctx, entry.value, path, entry.keyAt, MAILBOX_KEYS);
    if (reader === undefined) continue;
    const mailbox = await readDraft(reader, entry.key);
    const facts = resolveFacts(mailbox, servers, ctx.sink);
    for (const check of MAILBOX_CHECKS) check({ mailbox, facts, sink: ctx.sink, servers, proxies });
    // Beside a key file, a certificate is itself the mistake (reported by the checks): its file is not opened.
    const certificate = isPresent(mailbox.credentialsFile) ? undefined : await checkCertificateFile(mailbox, facts, ctx);
    const serviceAccountKey = await checkServiceAccountKeyFile(mailbox, facts, ctx);
    if (ctx.sink.errorCount !== errorsBefore) continue;
    const config = buildMailbox(mailbox, facts, proxies, certificate, serviceAccountKey);
    if (config !== undefined) mailboxes.set(entry.key, config);
  }
  return mailboxes;
}

async function readDraft(reader: MappingReader, name: string): Promise<MailboxDraft> {
  const protocol = reader.field('protocol', oneOf(PROTOCOLS));
  if (protocol.state === 'absent') reader.missing('protocol', `required; set one of: ${PROTOCOLS.join(', ')}`);
  const grantType = reader.field('grantType', oneOf(GRANT_TYPES));
  if (grantType.state === 'absent') reader.missing('grantType', `required; set one of: ${GRANT_TYPES.join(', ')}`);
  return {
    name,
    path: reader.path,
    at: reader.at,
    protocol,
    authorizationServer: reader.field('authorizationServer', text),
    grantType,
    tenantId: reader.field('tenantId', tenantId),
    clientId: reader.field('clientId', text),
    authenticationMode: reader.field('authenticationMode', oneOf(AUTHENTICATION_MODES)),
    clientSecret: await readSecret(reader, 'clientSecret'),
    clientSecretExpiresAt: reader.field('clientSecretExpiresAt', endDate),
    certificate: await readCertificate(reader),
    credentialsFile: resolvedPath(reader, reader.field('credentialsFile', filePath)),
    redirectUri: reader.field('redirectUri', absoluteUrl),
    redirectPlatform: reader.field('redirectPlatform', oneOf(REDIRECT_PLATFORMS)),
    scopes: reader.field('scopes', scopeList),
    username: reader.field('username', mailboxIdentity),
    password: await readSecret(reader, 'password'),
    sharedMailbox: reader.field('sharedMailbox', mailboxIdentity),
    proxy: reader.field('proxy', text),
  };
}

async function readCertificate(reader: MappingReader): Promise<Field<CertificateDraft>> {
  const section = reader.mapping('certificate', CERTIFICATE_KEYS);
  if (section.state !== 'ok') return section;
  const certificate = section.value;
  const draft: CertificateDraft = {
    path: certificate.path,
    at: certificate.at,
    file: resolvedPath(reader, certificate.field('file', filePath)),
    thumbprint: certificate.field('thumbprint', thumbprint),
    password: await readSecret(certificate, 'password'),
  };
  return { ...section, value: draft };
}

/** A file path relative to the config file's folder, made absolute. */
function resolvedPath(reader: MappingReader, field: Field<string>): Field<string> {
  return field.state === 'ok' ? { ...field, value: resolveConfigPath(reader.ctx.baseDir, field.value) } : field;
}

/** Only reached when the mailbox had no errors, so every required field is there. */
function buildMailbox(
  mailbox: MailboxDraft,
  facts: MailboxFacts,
  proxies: ProxyRegistry,
  certificate: CertificateInfo | undefined,
  serviceAccountKey: ServiceAccountKey | undefined,
): MailboxConfig | undefined {
  const { protocol, grant, server, mode } = facts;
  // A key file names its service account; a clientId beside it was checked to be the same.
  const clientId = valueOf(mailbox.clientId) ?? serviceAccountKey?.clientEmail;
  const username = valueOf(mailbox.username);
  if (protocol === undefined || grant === undefined || server === undefined || mode === undefined || clientId === undefined || username === undefined) return undefined;
  const proxyName = valueOf(mailbox.proxy);
  const sharedMailbox = valueOf(mailbox.sharedMailbox);
  const scopes = valueOf(mailbox.scopes) ?? defaultScopes(server.config, protocol, grant, sharedMailbox !== undefined) ?? [];
  return withOptional<MailboxConfig>(
    { name: mailbox.name, protocol, grantType: grant, authorizationServer: server.config, clientId, authenticationMode: mode, scopes, username },
    {
      tenantId: valueOf(mailbox.tenantId),
      clientSecret: valueOf(mailbox.clientSecret),
      clientSecretExpiresAt: valueOf(mailbox.clientSecretExpiresAt),
      certificate: mode === 'certificate' && serviceAccountKey === undefined ? certificateCredential(mailbox.certificate, certificate) : undefined,
      serviceAccountKey,
      redirectUri: valueOf(mailbox.redirectUri),
      redirectPlatform: facts.platform,
      password: valueOf(mailbox.password),
      sharedMailbox,
      proxy: proxyName === undefined ? undefined : proxyName === ENVIRONMENT_PROXY_NAME ? ENVIRONMENT_PROXY : proxies.proxies.get(proxyName),
    },
  );
}

function certificateCredential(field: Field<CertificateDraft>, info: CertificateInfo | undefined): CertificateCredential | undefined {
  const draft = valueOf(field);
  const file = draft === undefined ? undefined : valueOf(draft.file);
  const thumbprintValue = draft === undefined ? undefined : valueOf(draft.thumbprint);
  if (draft === undefined || file === undefined || thumbprintValue === undefined || info === undefined) return undefined;
  return withOptional<CertificateCredential>(
    { file, thumbprint: thumbprintValue },
    {
      password: valueOf(draft.password),
      sha1Thumbprint: info.sha1,
      sha256Thumbprint: info.sha256,
      certificatePem: info.certificatePem,
      privateKey: new Secret(info.privateKeyPem, `${draft.path}.file (${file})`),
      notAfter: info.notAfter,
    },
  );
}

const END_DATE_RULE = 'an ISO 8601 date or date-time such as 2027-03-31 or 2027-03-31T00:00:00Z';
const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})$/;

/**
 * clientSecretExpiresAt: a date (00:00 UTC that day, the cautious reading of
 * the date the Entra portal shows) or a date-time with its zone. Date.parse
 * alone would take 2027-02-30 as March 2nd: the day must exist.
 */
const endDate: z.ZodType<number> = z
  .string({ error: (issue) => `must be ${END_DATE_RULE}, not ${kindOf(issue.input)}` })
  .transform((value, ctx) => {
    const parts = DATE_ONLY.exec(value) ?? DATE_TIME.exec(value);
    const at = parts === null ? Number.NaN : Date.parse(DATE_ONLY.test(value) ? `${value}T00:00:00Z` : value);
    const [, year, month, day] = parts ?? [];
    const exists = !Number.isNaN(at) && new Date(Date.UTC(Number(year), Number(month) - 1, Number(day))).toISOString().startsWith(`${year ?? ''}-${month ?? ''}-${day ?? ''}`);
    if (!exists) {
      ctx.addIssue({ code: 'custom', message: `must be ${END_DATE_RULE} (a day that exists; a time needs its zone, Z or +01:00)` });
      return z.NEVER;
    }
    return at;
  });
