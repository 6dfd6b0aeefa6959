// authenticationMode certificate: opens the certificate file now, and checks
// that it is the certificate the thumbprint names and that it has not expired
// (a warning when it expires within 30 days), so the mistake shows on
// `validate` rather than as AADSTS700027 at the first token request.
import { inspectCertificate } from '../certificate.js';
import type { CertificateInfo } from '../certificate.js';
import type { LoadContext } from '../context.js';
import { readNamedFile } from '../file-field.js';
import { SECRET_FILE } from '../files.js';
import { CERTIFICATE_GRANTS } from '../grant-rules.js';
import { joinPath } from '../problems.js';
import type { MailboxDraft, MailboxFacts } from './check.js';

const DAY_MS = 24 * 60 * 60 * 1000;
export const CERTIFICATE_EXPIRY_WARNING_DAYS = 30;

export async function checkCertificateFile(mailbox: MailboxDraft, facts: MailboxFacts, ctx: LoadContext): Promise<CertificateInfo | undefined> {
  const { sink } = ctx;
  if (facts.mode !== 'certificate' || facts.grant === undefined || !CERTIFICATE_GRANTS.includes(facts.grant)) return undefined;
  if (mailbox.certificate.state !== 'ok') return undefined;
  const { file, thumbprint, password, path, at } = mailbox.certificate.value;
  if (file.state !== 'ok' || password.state === 'invalid') return undefined;

  // The file holds the private key: a secret file, with a secret's size cap and permission check.
  const data = await readNamedFile(ctx, file, file.value, SECRET_FILE);
  if (data === undefined) return undefined;
  const info = inspectCertificate(data, file.value, password.state === 'ok' ? password.value.reveal() : undefined);
  if ('message' in info) {
    if (info.field === 'file') sink.error(file.path, info.message, file.valueAt);
    else if (password.state === 'ok') sink.error(password.path, info.message, password.valueAt);
    else sink.error(joinPath(path, 'password'), info.message, at);
    return undefined;
  }

  let usable = true;
  if (thumbprint.state === 'ok') {
    const configured = thumbprint.value;
    const matches = configured.length === 40 ? configured === info.sha1 : configured === info.sha256;
    if (!matches) {
      usable = false;
      const sha256 = configured.length === 64 ? `, its SHA-256 thumbprint is ${info.sha256}` : '';
      sink.error(
        thumbprint.path,
        `does not match the certificate in ${file.value}: configured ${configured}, the file's SHA-1 thumbprint is ${info.sha1}${sha256}; use the thumbprint of the certificate uploaded to the app registration, and the file that holds it`,
        thumbprint.valueAt,
      );
    }
  }

  const now = ctx.now();
  const expiry = new Date(info.notAfter).toISOString();
  if (info.notAfter <= now) {
    usable = false;
    sink.error(file.path, `the certificate in ${file.value} expired on ${expiry}; renew it, upload the new one to the app registration, and update file and thumbprint`, file.valueAt);
  } else if (info.notAfter - now < CERTIFICATE_EXPIRY_WARNING_DAYS * DAY_MS) {
    const days = Math.floor((info.notAfter - now) / DAY_MS);
    sink.warning(file.path, `the certificate in ${file.value} expires on ${expiry} (in ${days} days); renew it and upload the new one to the app registration before then`, file.valueAt);
  }
  return usable && thumbprint.state === 'ok' ? info : undefined;
}
