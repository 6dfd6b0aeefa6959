// credentialsFile: a Google service-account JSON key, the whole credential of
// a google-type client-credentials mailbox. What may not stand beside it (the
// PEM form's certificate, a client secret) is named together with it; the
// file is read (a secret file) and each field checked on `validate`, so a
// wrong file shows there and not as "invalid_grant" at the first token.
import type { LoadContext } from '../context.js';
import { readNamedFile } from '../file-field.js';
import { SECRET_FILE } from '../files.js';
import { GOOGLE_TOKEN_URI, GOOGLE_TOKEN_URIS, parseServiceAccountKey } from '../google-key-file.js';
import { isPresent } from '../reader.js';
import { Secret } from '../secret.js';
import type { ServiceAccountKey } from '../types.js';
import type { MailboxCheck, MailboxDraft, MailboxFacts } from './check.js';

export const serviceAccountKeyRules: MailboxCheck = ({ mailbox, facts, sink }) => {
  const { credentialsFile, certificate, clientSecret, authenticationMode } = mailbox;
  if (!isPresent(credentialsFile)) return;
  const { server, grant } = facts;
  if (server !== undefined && server.config.type !== 'google') {
    const { name, type } = server.config;
    sink.error(credentialsFile.path, `applies only to google-type authorization servers (it is a Google service account key), and ${name} is of type ${type}; remove it`, credentialsFile.valueAt);
    return;
  }
  // Other grants: plainCells says it does not apply.
  if (grant !== 'client-credentials') return;
  if (isPresent(certificate)) {
    sink.error(certificate.path, 'given together with credentialsFile: the service account key file holds the key; keep only one of them (credentialsFile, or certificate for the PEM form)', certificate.at);
  }
  if (isPresent(clientSecret)) sink.error(clientSecret.path, 'does not apply with credentialsFile: the service account key is the credential; remove it', clientSecret.at);
  if (authenticationMode.state === 'ok' && authenticationMode.value === 'client-secret') {
    sink.error(authenticationMode.path, 'client-secret does not go with credentialsFile: a service account key signs with its private key; remove authenticationMode', authenticationMode.valueAt);
  }
};

/**
 * Reads and checks the key file of a google-type client-credentials mailbox;
 * undefined when there is none or it cannot be used (the reasons reported at
 * credentialsFile, never the file's content).
 */
export async function checkServiceAccountKeyFile(mailbox: MailboxDraft, facts: MailboxFacts, ctx: LoadContext): Promise<ServiceAccountKey | undefined> {
  const { credentialsFile: field, clientId } = mailbox;
  const server = facts.server?.config;
  if (field.state !== 'ok' || facts.grant !== 'client-credentials' || server?.type !== 'google') return undefined;
  const data = await readNamedFile(ctx, field, field.value, SECRET_FILE);
  if (data === undefined) return undefined;
  const reading = parseServiceAccountKey(data, field.value);
  if (!reading.ok) {
    for (const problem of reading.problems) ctx.sink.error(field.path, problem, field.valueAt);
    return undefined;
  }
  const { key } = reading;
  if (clientId.state === 'ok' && clientId.value !== key.clientEmail) {
    ctx.sink.error(
      clientId.path,
      `is ${clientId.value}, but the key in credentialsFile (${field.value}) belongs to ${key.clientEmail} (its client_email); remove clientId (the key file names the service account), or use that account's key`,
      clientId.valueAt,
    );
    return undefined;
  }
  // The assertion's audience follows the file (as Google's own libraries do), the request goes to the
  // configured server (its caFile and proxy apply): when the two differ, the server may refuse the audience.
  const endpoint = server.tokenEndpoint;
  const knownAlias = endpoint === GOOGLE_TOKEN_URI && GOOGLE_TOKEN_URIS.includes(key.tokenUri);
  if (endpoint !== undefined && key.tokenUri !== endpoint && !knownAlias) {
    ctx.sink.warning(
      field.path,
      `token_uri in ${field.value} is ${key.tokenUri}, and authorization server ${server.name} takes token requests at ${endpoint}; the assertion's audience is the file's token_uri (as Google's own client libraries do), so the server may answer "Failed audience check": download the key again, or point authorizationServers.${server.name}.tokenEndpoint at the token_uri`,
      field.valueAt,
    );
  }
  return {
    file: field.value,
    clientEmail: key.clientEmail,
    privateKeyId: key.privateKeyId,
    privateKey: new Secret(key.privateKeyPem, `${field.path} (${field.value})`),
    tokenUri: key.tokenUri,
  };
}
