// mailboxes.*.credentialsFile: a Google service-account JSON key taken as
// Google hands it out. Each mistake in the file (or beside it in the mailbox)
// is reported at the credentialsFile key with its line and column, says what
// is wrong and what to do, and never quotes the key material.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { configOf, loadText, positions, problemsOf, tempDir, triples, writeFiles } from '../support/config-helpers.js';

const EMAIL = 'mail-reader@project-1234.iam.gserviceaccount.com';
const KEY_ID = '0123456789abcdef0123456789abcdef01234567';
const PATH = 'mailboxes.robot.credentialsFile';
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
/** Base64 lines of the private key: none of them may show up in a message. */
const KEY_LINES = rsa.split('\n').filter((line) => line.length > 20 && !line.startsWith('-----'));

/** What Google's console downloads, field for field. */
function googleKey(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'service_account',
    project_id: 'project-1234',
    private_key_id: KEY_ID,
    private_key: rsa,
    client_email: EMAIL,
    client_id: '100000000000000000001',
    auth_uri: 'https://accounts.google.com/o/oauth2/auth',
    token_uri: 'https://oauth2.googleapis.com/token',
    auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
    client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${encodeURIComponent(EMAIL)}`,
    universe_domain: 'googleapis.com',
    ...overrides,
  };
}

/** The mailbox at lines 2-7; `credentialsFile` is at line 6, column 22. `extra` lines follow it. */
function yaml(extra: readonly string[] = [], server = 'google'): string {
  return [
    'mailboxes:',
    '  robot:',
    '    protocol: imap',
    `    authorizationServer: ${server}`,
    '    grantType: client-credentials',
    '    credentialsFile: sa.json',
    '    username: robot@example.com',
    ...extra.map((line) => `    ${line}`),
    'store: { url: "memory:" }',
    '',
  ].join('\n');
}

async function loadWithKey(content: string | Record<string, unknown>, extra: readonly string[] = [], server?: string) {
  const dir = await tempDir('google-key-');
  await writeFiles(dir, { 'sa.json': typeof content === 'string' ? content : JSON.stringify(content, null, 2) });
  return { result: await loadText(yaml(extra, server), { dir }), file: join(dir, 'sa.json') };
}

function assertNoKeyMaterial(messages: readonly string[]): void {
  for (const message of messages) {
    assert.ok(!message.includes('PRIVATE KEY'), message);
    for (const line of KEY_LINES) assert.ok(!message.includes(line.slice(0, 16)), `key material in: ${message}`);
  }
}

const DOWNLOAD = 'download the key again (Google Cloud console: IAM & Admin > Service accounts > Keys > Add key > JSON)';

describe('config: Google service-account key file (credentialsFile)', () => {
  test('a key as Google hands it out: the service account, its key id, key and token URI, no clientId or certificate needed', async () => {
    const { result, file } = await loadWithKey(googleKey());
    assert.deepEqual(triples(result), []);
    const mailbox = configOf(result).mailboxes.get('robot');
    assert.ok(mailbox !== undefined);
    assert.equal(mailbox.clientId, EMAIL, 'iss: the key file names the service account');
    assert.equal(mailbox.authenticationMode, 'certificate', 'a private key signs the assertion');
    assert.equal(mailbox.certificate, undefined);
    assert.deepEqual(mailbox.scopes, ['https://mail.google.com/']);
    const key = mailbox.serviceAccountKey;
    assert.ok(key !== undefined);
    assert.equal(key.file, file);
    assert.equal(key.clientEmail, EMAIL);
    assert.equal(key.privateKeyId, KEY_ID);
    assert.equal(key.tokenUri, 'https://oauth2.googleapis.com/token');
    assert.equal(key.privateKey.reveal(), rsa);
    assert.equal(String(key.privateKey), '[redacted]');
    assert.ok(!JSON.stringify(mailbox).includes('PRIVATE KEY'), 'the key never serializes');
  });

  test('clientId equal to client_email is accepted; Google\'s older token URI is accepted without a warning', async () => {
    const { result } = await loadWithKey(googleKey({ token_uri: 'https://accounts.google.com/o/oauth2/token' }), [`clientId: ${EMAIL}`]);
    assert.deepEqual(triples(result), []);
  });

  test('a byte order mark (an editor on Windows) and an encrypted key', async () => {
    const withBom = await loadWithKey(`\uFEFF${JSON.stringify(googleKey())}`);
    assert.deepEqual(triples(withBom.result), [], 'the mark is skipped');
    const encrypted = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'p' }).toString();
    const { result, file } = await loadWithKey(googleKey({ private_key: encrypted }));
    assert.deepEqual(triples(result), [['error', PATH, `private_key in ${file} is encrypted; Google's JSON keys hold an unencrypted key; ${DOWNLOAD}`]]);
  });

  test('every mistake in the file: at credentialsFile (6:22), what and what to do, no key material', async () => {
    const cases: [string, string | Record<string, unknown>, (file: string) => string[]][] = [
      ['an empty file', '', (file) => [`${file} is empty; ${DOWNLOAD}`]],
      [
        'JSON that does not parse, with a position',
        '{\n  "type": "service_account",\n  "private_key_id": "x" "client_email": "a@b.c"\n}\n',
        (file) => [`${file} is not valid JSON: expected ',' or '}' after property value at line 3, column 25; ${DOWNLOAD}`],
      ],
      ['a private key pasted with its line breaks', `{"type": "service_account", "private_key": "${rsa}"}`, (file) => [`${file} is not valid JSON: bad control character in string literal at line 1, column 72; ${DOWNLOAD}`]],
      ['JSON without a position', '{"type": "service_account", "private_key": tru}', (file) => [`${file} is not valid JSON: an unexpected token (the JSON parser gives no position); ${DOWNLOAD}`]],
      ['JSON cut short', JSON.stringify(googleKey()).slice(0, 200), (file) => [`${file} is not valid JSON: it ends before the JSON is complete (cut short when copied?); ${DOWNLOAD}`]],
      ['not an object', '["service_account"]', (file) => [`${file} holds JSON, but not an object: a service account key is one JSON object with type, client_email, private_key, private_key_id and token_uri; ${DOWNLOAD}`]],
      ['type missing', googleKey({ type: undefined }), (file) => [`type in ${file} is missing; a service account key has "type": "service_account"; ${DOWNLOAD}`]],
      [
        "a user's credentials",
        { type: 'authorized_user', client_id: 'x', client_secret: 'GOCSPX-secret', refresh_token: '1//refresh' },
        (file) => [`${file} is not a service account key: its type is "authorized_user" (a user's credentials, from gcloud auth application-default login); ${DOWNLOAD}`],
      ],
      [
        "an OAuth client's secrets",
        { installed: { client_id: 'c.apps.googleusercontent.com', client_secret: 'GOCSPX-secret' } },
        (file) => [
          `${file} is an OAuth client's secrets file (client_secret_….json), not a service account key; for an OAuth client set clientId and clientSecret with grant type authorization-code, or ${DOWNLOAD}`,
        ],
      ],
      ['workload identity federation', googleKey({ type: 'external_account' }), (file) => [`${file} is not a service account key: its type is "external_account" (a workload identity federation configuration); ${DOWNLOAD}`]],
      ['another type', googleKey({ type: 'signing_key' }), (file) => [`${file} is not a service account key: its type is "signing_key", not "service_account"; ${DOWNLOAD}`]],
      ['a type that is not a plain word is not quoted', googleKey({ type: KEY_LINES[1] }), (file) => [`${file} is not a service account key: its type is something else, not "service_account"; ${DOWNLOAD}`]],
      [
        'client_email missing, private_key_id empty, token_uri not a string: all at once',
        googleKey({ client_email: undefined, private_key_id: '', token_uri: 42 }),
        (file) => [
          `client_email in ${file} is missing; it is the service account's e-mail address (NAME@PROJECT.iam.gserviceaccount.com); ${DOWNLOAD}`,
          `private_key_id in ${file} is empty; it names the key to Google (the assertion's kid); ${DOWNLOAD}`,
          `token_uri in ${file} is not a string; Google's is https://oauth2.googleapis.com/token; ${DOWNLOAD}`,
        ],
      ],
      ['client_email not an address', googleKey({ client_email: 'mail-reader' }), (file) => [`client_email in ${file} is not an e-mail address; it is the service account's e-mail address (NAME@PROJECT.iam.gserviceaccount.com); ${DOWNLOAD}`]],
      ['private_key missing', googleKey({ private_key: undefined }), (file) => [`private_key in ${file} is missing; it is the service account's RSA key (PKCS#8 PEM); ${DOWNLOAD}`]],
      ['private_key not a key', googleKey({ private_key: rsa.replace(/[A-Za-z]{20}/, 'A'.repeat(20)).slice(0, 400) }), (file) => [`private_key in ${file} is not a usable private key (an RSA key in PKCS#8 PEM); ${DOWNLOAD}`]],
      [
        'private_key with its line breaks escaped twice',
        googleKey({ private_key: rsa.replaceAll('\n', '\\n') }),
        (file) => [`private_key in ${file} has its line breaks written as the two characters \\n (escaped twice); write each as \\n inside the JSON string, or ${DOWNLOAD}`],
      ],
      ['private_key not RSA', googleKey({ private_key: ec }), (file) => [`private_key in ${file} is an ec key; Google signs service accounts' assertions with RSA keys (RS256); ${DOWNLOAD}`]],
      ['private_key_id with a line break', googleKey({ private_key_id: 'abc\ndef' }), (file) => [`private_key_id in ${file} is not a key id (printable characters only); it names the key to Google (the assertion's kid); ${DOWNLOAD}`]],
      ['token_uri not https', googleKey({ token_uri: 'http://oauth2.googleapis.com/token' }), (file) => [`token_uri in ${file} is not an https URL; Google's is https://oauth2.googleapis.com/token; ${DOWNLOAD}`]],
    ];
    for (const [name, content, expected] of cases) {
      const { result, file } = await loadWithKey(content);
      assert.deepEqual(triples(result), expected(file).map((message) => ['error', PATH, message]), name);
      assert.deepEqual(
        positions(result),
        expected(file).map(() => ['error', PATH, 6, 22]),
        `${name}: at the credentialsFile value`,
      );
      assertNoKeyMaterial(problemsOf(result).map((problem) => problem.message));
    }
  });

  test('a token_uri other than the server\'s token endpoint is a warning: the assertion follows the file', async () => {
    const { result, file } = await loadWithKey(googleKey({ token_uri: 'https://oauth2.example.com/token' }));
    assert.ok(result.ok, 'a warning, not an error');
    assert.deepEqual(positions(result), [['warning', PATH, 6, 22]]);
    assert.deepEqual(triples(result), [
      [
        'warning',
        PATH,
        `token_uri in ${file} is https://oauth2.example.com/token, and authorization server google takes token requests at https://oauth2.googleapis.com/token; the assertion's audience is the file's token_uri (as Google's own client libraries do), so the server may answer "Failed audience check": download the key again, or point authorizationServers.google.tokenEndpoint at the token_uri`,
      ],
    ]);
  });

  test('mistakes beside the file in the mailbox name both keys, each at its own line', async () => {
    const cases: [string, string[], string, (file: string) => [string, string, string, number, number][]][] = [
      [
        'the PEM form as well',
        ['authenticationMode: certificate', 'certificate: { file: sa.pem, thumbprint: "' + 'A'.repeat(40) + '" }'],
        'google',
        () => [['error', 'mailboxes.robot.certificate', 'given together with credentialsFile: the service account key file holds the key; keep only one of them (credentialsFile, or certificate for the PEM form)', 9, 5]],
      ],
      [
        'a client secret as well',
        ['clientSecret: s3cret'],
        'google',
        () => [['error', 'mailboxes.robot.clientSecret', 'does not apply with credentialsFile: the service account key is the credential; remove it', 8, 5]],
      ],
      [
        'authenticationMode client-secret',
        ['authenticationMode: client-secret'],
        'google',
        () => [['error', 'mailboxes.robot.authenticationMode', 'client-secret does not go with credentialsFile: a service account key signs with its private key; remove authenticationMode', 8, 25]],
      ],
      [
        'a clientId of another account',
        ['clientId: other@project-1234.iam.gserviceaccount.com'],
        'google',
        (file) => [
          [
            'error',
            'mailboxes.robot.clientId',
            `is other@project-1234.iam.gserviceaccount.com, but the key in credentialsFile (${file}) belongs to ${EMAIL} (its client_email); remove clientId (the key file names the service account), or use that account's key`,
            8,
            15,
          ],
        ],
      ],
      [
        'a Microsoft server',
        ['tenantId: 00000000-0000-0000-0000-000000000000'],
        'microsoft',
        () => [['error', PATH, 'applies only to google-type authorization servers (it is a Google service account key), and microsoft is of type microsoft; remove it', 6, 22]],
      ],
    ];
    for (const [name, extra, server, expected] of cases) {
      const { result, file } = await loadWithKey(googleKey(), extra, server);
      assert.deepEqual(
        problemsOf(result).map((problem) => [problem.severity, problem.path, problem.message, problem.line, problem.column]),
        expected(file),
        name,
      );
    }
  });

  test('a grant other than client-credentials: the key does not apply', async () => {
    const dir = await tempDir('google-key-');
    await writeFiles(dir, { 'sa.json': JSON.stringify(googleKey()) });
    const text = yaml().replace('grantType: client-credentials', 'grantType: authorization-code').replace('    username:', '    clientId: c.apps.googleusercontent.com\n    clientSecret: s\n    redirectUri: http://localhost:8400/cb\n    username:');
    const result = await loadText(text, { dir });
    assert.deepEqual(
      problemsOf(result).map((problem) => [problem.severity, problem.path, problem.message, problem.line, problem.column]),
      [['error', PATH, 'does not apply to grant type authorization-code (a service account key is for client-credentials: the service account acts as the user); remove it', 6, 5]],
    );
  });

  test('the key file is a secret file: others may read it is a warning naming chmod', async () => {
    const { chmod } = await import('node:fs/promises');
    const dir = await tempDir('google-key-');
    await writeFiles(dir, { 'sa.json': JSON.stringify(googleKey()) });
    await chmod(join(dir, 'sa.json'), 0o644);
    const result = await loadText(yaml(), { dir });
    assert.deepEqual(triples(result), [['warning', PATH, `${join(dir, 'sa.json')} can be read by other users (mode 0644); restrict it: chmod 600 ${join(dir, 'sa.json')}`]]);
  });

  test('client-credentials with a client secret on Google: the error now names credentialsFile first', async () => {
    const result = await loadText(
      ['mailboxes:', '  g:', '    protocol: imap', '    authorizationServer: google', '    grantType: client-credentials', '    clientId: c.apps.googleusercontent.com', '    clientSecret: s', '    username: a@example.com', 'store: { url: "memory:" }', ''].join('\n'),
    );
    assert.deepEqual(triples(result), [
      [
        'error',
        'mailboxes.g.authenticationMode',
        "Google has no client-credentials grant with a client secret: application-level access is a service account with domain-wide delegation; set credentialsFile to the service account's JSON key (or authenticationMode: certificate, certificate.file to its private key and certificate, clientId to its e-mail address)",
      ],
    ]);
  });
});
