// `server`: where the gRPC server listens, its TLS, and which clients may
// call it. Plain TCP beyond loopback would put tokens and client keys on the
// wire, so it needs tls.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import { isLoopbackHost, LISTEN_ADDRESS_PATTERN, parseListenAddress } from '../addresses.js';
import { readCaFile } from '../ca-file.js';
import { canonicalCertificateSubject, parseCertificateSubject } from '../certificate-subject.js';
import { compileGlob, globProblem } from '../glob-pattern.js';
import type { LoadContext } from '../context.js';
import { DEFAULT_LISTEN, DEFAULT_SOCKET_MODE } from '../defaults.js';
import { flag, GLOB_PATTERN, octalMode, oneOf, patternList, sha256Hex, SAFE_NAME, SAFE_NAME_RULE, wholeNumber } from '../fields.js';
import { invalidField, readFileField } from '../file-field.js';
import { SECRET_FILE } from '../files.js';
import { withOptional } from '../optional.js';
import { isPresent, kindOf, kindOfNode, MappingReader, valueOf } from '../reader.js';
import type { Field } from '../reader.js';
import { readSecret, secretKeys } from '../secrets.js';
import { PROTOCOLS } from '../types.js';
import type { ClientConfig, ListenAddress, ServerConfig, ServerLimitsConfig, TlsConfig } from '../types.js';

export const SERVER_KEYS = ['listen', 'socketMode', 'tls', 'clients', 'limits'];

const LIMIT_KEYS = ['maxRequestBytes', 'maxStreamsPerConnection', 'idleConnectionSeconds'];
const TLS_KEYS = ['certFile', 'keyFile', 'clientCaFile'];
const CLIENT_KEYS = ['name', ...secretKeys('key'), 'keySha256', 'certificateSubject', 'mailboxes', 'admin', 'protocols', 'watch', 'maxWatches', 'callsPerSecond'];

export const protocolList = z.array(oneOf(PROTOCOLS), { error: (issue) => `must be a list of protocols (${PROTOCOLS.join(', ')}), not ${kindOf(issue.input)}` }).min(1, { error: 'must name at least one protocol; to refuse every token, remove the client' });

export const certificateSubjectField = z.string({ error: 'must be a distinguished name such as "CN=connector-1"' }).transform((value, ctx) => {
  const parsed = parseCertificateSubject(value);
  if (!('error' in parsed)) return canonicalCertificateSubject(parsed);
  ctx.addIssue({ code: 'custom', message: parsed.error });
  return z.NEVER;
});

export const listenList = z.preprocess(
  (value) => (typeof value === 'string' ? [value] : value),
  z
    .array(
      z.string({ error: 'must be unix:///absolute/path or tcp://host:port' }).transform((value, ctx) => {
        const parsed = parseListenAddress(value);
        if (typeof parsed !== 'string') return parsed;
        ctx.addIssue({ code: 'custom', message: parsed });
        return z.NEVER;
      })
      .meta({ pattern: LISTEN_ADDRESS_PATTERN }),
      { error: 'must be a list of addresses (unix:///absolute/path or tcp://host:port)' },
    )
    .min(1, { error: 'must list at least one address' }),
);

export async function readServerSection(ctx: LoadContext, section: Field<MappingReader>, mailboxNames: ReadonlySet<string>): Promise<ServerConfig> {
  const reader = section.state === 'ok' ? section.value : undefined;
  const listen = reader?.field('listen', listenList) ?? { state: 'absent', path: 'server.listen' };
  const socketMode = reader?.field('socketMode', octalMode);
  const tls = reader === undefined ? undefined : await readTls(reader);
  // Unknown (undefined) when server.tls has errors of its own: no second error about it.
  const mtls = tls === undefined || tls.state === 'absent' ? false : tls.state === 'ok' ? tls.value.clientCaFile !== undefined : undefined;
  const clients = reader === undefined ? undefined : await readClients(reader, mailboxNames, mtls);
  const limits = reader === undefined ? undefined : readLimits(reader);

  const addresses: readonly ListenAddress[] = valueOf(listen) ?? [{ kind: 'unix', path: DEFAULT_LISTEN.slice('unix://'.length), url: DEFAULT_LISTEN }];
  if (listen.state === 'ok' && reader !== undefined && tls?.state === 'absent') {
    const node = reader.entry('listen')?.value;
    addresses.forEach((address, index) => {
      if (address.kind !== 'tcp' || isLoopbackHost(address.host)) return;
      ctx.sink.error(
        `${listen.path}[${index}]`,
        `plain TCP on ${address.host} would expose tokens and client keys to the network; configure server.tls, or listen on a loopback address (127.0.0.1, ::1, localhost) or a unix socket`,
        node?.kind === 'seq' ? node.items[index]?.at : node?.at,
      );
    });
  }
  if (listen.state !== 'invalid' && clients?.some((client) => client.certificateSubject !== undefined) && !addresses.some((address) => address.kind === 'tcp')) {
    ctx.sink.warning(listen.path, 'no tcp:// address: clients known by certificateSubject can only connect over TCP with TLS', reader?.entry('listen')?.value.at);
  }
  return withOptional<ServerConfig>(
    { listen: addresses, socketMode: (socketMode === undefined ? undefined : valueOf(socketMode)) ?? DEFAULT_SOCKET_MODE },
    { tls: tls === undefined ? undefined : valueOf(tls), clients, limits },
  );
}

/** server.limits; undefined when absent or empty. The bounds keep a typo from disabling a limit (0) or making one useless. */
function readLimits(server: MappingReader): ServerLimitsConfig | undefined {
  const section = server.mapping('limits', LIMIT_KEYS);
  const reader = valueOf(section);
  if (reader === undefined) return undefined;
  const bounded = (min: number, max: number, unit: string) =>
    wholeNumber(min).pipe(z.number().max(max, { error: `must be at most ${max.toLocaleString('en-US')} ${unit}` }));
  const limits = withOptional<ServerLimitsConfig>(
    {},
    {
      maxRequestBytes: valueOf(reader.field('maxRequestBytes', bounded(1_024, 4 * 1024 * 1024, 'bytes (4 MiB)'))),
      maxStreamsPerConnection: valueOf(reader.field('maxStreamsPerConnection', bounded(1, 100_000, 'streams'))),
      idleConnectionSeconds: valueOf(reader.field('idleConnectionSeconds', bounded(10, 86_400, 'seconds (a day)'))),
    },
  );
  return Object.keys(limits).length === 0 ? undefined : limits;
}

async function readTls(server: MappingReader): Promise<Field<TlsConfig>> {
  const section = server.mapping('tls', TLS_KEYS);
  if (section.state !== 'ok') return section;
  const reader = section.value;
  const errorsBefore = reader.ctx.sink.errorCount;
  const cert = await readCaFile(reader, 'certFile');
  if (cert.state === 'absent') reader.missing('certFile', 'required; set the PEM certificate (chain) the gRPC server presents');
  const key = await readPrivateKey(reader, 'keyFile');
  if (key.state === 'absent') reader.missing('keyFile', 'required; set the PEM private key of certFile');
  const clientCa = await readCaFile(reader, 'clientCaFile');
  if (cert.state === 'ok' && key.state === 'ok') {
    const first = cert.value.certificates[0];
    if (first !== undefined && !new X509Certificate(first).checkPrivateKey(key.value.key)) {
      reader.ctx.sink.error(key.path, `the private key in ${key.value.file} does not belong to the certificate in ${cert.value.file}`, key.valueAt);
    }
  }
  if (cert.state !== 'ok' || key.state !== 'ok' || reader.ctx.sink.errorCount !== errorsBefore) return { state: 'invalid', path: section.path, at: section.at, valueAt: section.valueAt };
  return { ...section, value: withOptional<TlsConfig>({ certFile: cert.value.file, keyFile: key.value.file }, { clientCaFile: valueOf(clientCa)?.file }) };
}

async function readPrivateKey(reader: MappingReader, name: string): Promise<Field<{ file: string; key: KeyObject }>> {
  const field = await readFileField(reader, name, SECRET_FILE);
  if (field.state !== 'ok') return field;
  const { file, data } = field.value;
  try {
    return { ...field, value: { file, key: createPrivateKey(data) } };
  } catch {
    reader.ctx.sink.error(field.path, `${file} holds no usable PEM private key (an encrypted key cannot be used here)`, field.valueAt);
    return invalidField(field);
  }
}

async function readClients(server: MappingReader, mailboxNames: ReadonlySet<string>, mtls: boolean | undefined): Promise<ClientConfig[] | undefined> {
  const entry = server.entry('clients');
  if (entry === undefined) return undefined;
  const { sink } = server.ctx;
  const path = server.childPath('clients');
  if (entry.value.kind !== 'seq') {
    sink.error(path, `must be a list of clients (- name: ...), not ${kindOfNode(entry.value)}`, entry.value.at);
    return undefined;
  }
  const clients: ClientConfig[] = [];
  const names = new Map<string, string>();
  const subjects = new Map<string, string>();
  for (const [index, item] of entry.value.items.entries()) {
    const reader = MappingReader.open(server.ctx, item, `${path}[${index}]`, item.at, CLIENT_KEYS);
    if (reader === undefined) continue;
    const name = reader.field('name', z.string({ error: 'must be a string' }).regex(SAFE_NAME, { error: `must be ${SAFE_NAME_RULE}` }));
    if (name.state === 'absent') reader.missing('name', 'required; give each client a name (it appears in logs)');
    if (name.state === 'ok') {
      const first = names.get(name.value);
      if (first !== undefined) sink.error(name.path, `${first} has the same name; client names must be unique`, name.valueAt);
      else names.set(name.value, reader.path);
    }
    const key = await readSecret(reader, 'key');
    const keySha256 = reader.field('keySha256', sha256Hex);
    const subject = reader.field('certificateSubject', certificateSubjectField);
    if (key.state === 'absent' && keySha256.state === 'absent' && subject.state === 'absent') {
      reader.missing('key', 'required; set one of key, keyFile, keySha256 or certificateSubject');
    }
    if (isPresent(key) && isPresent(keySha256)) sink.error(keySha256.path, 'given together with key or keyFile; keep only one of them', keySha256.at);
    if (isPresent(subject) && (isPresent(key) || isPresent(keySha256))) {
      sink.error(subject.path, 'given together with key, keyFile or keySha256; a client is known by one of them', subject.at);
    }
    if (isPresent(subject) && mtls === false) {
      sink.error(subject.path, 'needs mTLS: set server.tls.clientCaFile to the CA that issues client certificates, or give this client a key, keyFile or keySha256', subject.at);
    }
    if (subject.state === 'ok') {
      const first = subjects.get(subject.value);
      if (first !== undefined) sink.error(subject.path, `${first} has the same certificateSubject; one certificate can be only one client`, subject.valueAt);
      else subjects.set(subject.value, reader.path);
    }
    const mailboxes = reader.field('mailboxes', patternList);
    if (mailboxes.state === 'absent') reader.missing('mailboxes', 'required; list the mailbox names or glob patterns (e.g. "sales-*") this client may use');
    if (mailboxes.state === 'ok') warnAboutUnknownNames(reader, mailboxes.value, mailboxNames);
    const admin = reader.field('admin', flag);
    const protocols = reader.field('protocols', protocolList);
    const watch = reader.field('watch', flag);
    const maxWatches = reader.field('maxWatches', wholeNumber(1));
    const callsPerSecond = reader.field('callsPerSecond', wholeNumber(1));
    const nameValue = valueOf(name);
    const patterns = valueOf(mailboxes);
    if (nameValue === undefined || patterns === undefined || (key.state !== 'ok' && keySha256.state !== 'ok' && subject.state !== 'ok')) continue;
    clients.push(
      withOptional<ClientConfig>(
        { name: nameValue, mailboxes: patterns, admin: valueOf(admin) ?? false },
        {
          key: valueOf(key),
          keySha256: valueOf(keySha256),
          certificateSubject: valueOf(subject),
          // Duplicates say nothing more: kept once, in the order given.
          protocols: protocols.state === 'ok' ? [...new Set(protocols.value)] : undefined,
          watch: valueOf(watch),
          maxWatches: valueOf(maxWatches),
          callsPerSecond: valueOf(callsPerSecond),
        },
      ),
    );
  }
  return clients;
}

/** A literal name (no *, ? or [...]) that names no mailbox is most likely a typo that would silently deny access. */
function warnAboutUnknownNames(reader: MappingReader, patterns: readonly string[], mailboxNames: ReadonlySet<string>): void {
  const node = reader.entry('mailboxes')?.value;
  patterns.forEach((pattern, index) => {
    if (mailboxNames.has(pattern) || !GLOB_PATTERN.test(pattern)) return;
    const at = node?.kind === 'seq' ? node.items[index]?.at : node?.at;
    const path = `${reader.childPath('mailboxes')}[${index}]`;
    if (!/[*?[\]]/.test(pattern)) {
      reader.ctx.sink.warning(path, `no mailbox is named ${pattern}; check the name`, at);
      return;
    }
    // The matcher the server uses: a pattern that matches no configured mailbox gives the client nothing (yet).
    const glob = compileGlob(pattern);
    if (mailboxNames.size > 0 && globProblem(pattern) === undefined && ![...mailboxNames].some((name) => glob.matches(name))) {
      reader.ctx.sink.warning(path, `the pattern ${pattern} matches no configured mailbox; check it (* any run of characters, ? one, [ab] one of a set)`, at);
    }
  });
}
