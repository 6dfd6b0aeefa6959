// The certificate blocks of a PEM text, one regular expression for every
// reader of PEM files (client certificates, CA bundles, the server's chain).

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Each `-----BEGIN CERTIFICATE-----` block of `text`, in order; none when it holds none. */
export function pemCertificateBlocks(text: string): string[] {
  return text.match(CERTIFICATE_BLOCK) ?? [];
}
