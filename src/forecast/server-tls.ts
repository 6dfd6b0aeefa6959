// The broker's own gRPC TLS certificates (server.tls): the certificate chain
// it presents, and the CA that signs its clients' certificates (mTLS). When
// one ends, every connector's TLS handshake fails at once.
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { pemCertificateBlocks } from '../config/index.js';
import type { BrokerConfig } from '../config/index.js';
import type { CredentialDeath } from './credential-death.js';

/**
 * Read once per loaded config: the listener serves the files it read at
 * start (a change needs a restart, daemon/restart-required.ts), so those are
 * the certificates whose end matters; and a metrics scrape should not read disk.
 */
const cache = new WeakMap<BrokerConfig, readonly CredentialDeath[]>();

/** The end of server.tls.certFile (its earliest notAfter: leaf or chain) and of clientCaFile; earliest first. */
export function serverTlsCertificateDeaths(config: BrokerConfig): readonly CredentialDeath[] {
  const cached = cache.get(config);
  if (cached !== undefined) return cached;
  const tls = config.server.tls;
  const deaths: CredentialDeath[] = [];
  if (tls !== undefined) {
    const served = earliestNotAfter(tls.certFile);
    if (served !== undefined) {
      deaths.push({
        credential: 'server_tls_certificate',
        at: served,
        basis: 'certificate_not_after',
        reason: `server.tls.certFile ${tls.certFile}: the broker's TLS certificate (or one of its chain) ends then, and every client's connection fails; renew it, replace the file and restart the broker.`,
      });
    }
    const clientCa = tls.clientCaFile === undefined ? undefined : earliestNotAfter(tls.clientCaFile);
    if (clientCa !== undefined) {
      deaths.push({
        credential: 'server_tls_certificate',
        at: clientCa,
        basis: 'certificate_not_after',
        reason: `server.tls.clientCaFile ${tls.clientCaFile ?? ''}: the CA that clients' mTLS certificates chain to ends then, and their connections fail; renew it, replace the file and restart the broker.`,
      });
    }
  }
  deaths.sort((a, b) => a.at - b.at);
  cache.set(config, deaths);
  return deaths;
}

/** The earliest notAfter of the PEM certificates in `file`; undefined when it cannot be read (the listener reports that itself). */
function earliestNotAfter(file: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'latin1');
  } catch {
    return undefined;
  }
  let earliest: number | undefined;
  for (const block of pemCertificateBlocks(text)) {
    try {
      const notAfter = Date.parse(new X509Certificate(block).validTo);
      if (!Number.isNaN(notAfter) && (earliest === undefined || notAfter < earliest)) earliest = notAfter;
    } catch {
      // Not a certificate node can read: the others still count.
    }
  }
  return earliest;
}
