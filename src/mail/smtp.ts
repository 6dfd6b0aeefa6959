// SMTP submission (RFC 5321, RFC 6409) as far as an OAuth login needs: EHLO,
// STARTTLS (RFC 3207) and AUTH (RFC 4954), always without an initial
// response on the AUTH line: a ~1.5 KB XOAUTH2 string there exceeds the
// 512-byte command line servers enforce (Dovecot: "500 5.5.2 Line too long").
import type { AuthenticationResult, MailDialect, ServerCapabilities } from './dialect.js';
import { protocolError } from './mail-errors.js';
import type { MailWire } from './mail-wire.js';
import { decodeErrorChallenge } from './sasl.js';

/** The name we introduce ourselves with: an address literal would be checked against our address, a name is not. */
const EHLO_NAME = 'token-broker.localhost';

interface SmtpReply {
  readonly code: number;
  readonly lines: string[];
}

/** One reply: "250-..." lines continue, "250 ..." ends it. */
async function readReply(wire: MailWire, waitingFor: string): Promise<SmtpReply> {
  const lines: string[] = [];
  for (;;) {
    const line = await wire.readLine(waitingFor);
    const match = /^(\d{3})([ -]|$)/.exec(line);
    if (match === null) throw protocolError(wire.endpoint, `answered "${wire.quote(line)}", which is no SMTP reply (waiting for ${waitingFor}).`);
    lines.push(line);
    if (match[2] !== '-') return { code: Number(match[1]), lines };
  }
}

export function smtpDialect(): MailDialect {
  return {
    async greet(wire) {
      const reply = await readReply(wire, 'the SMTP greeting');
      if (reply.code === 220) return reply.lines.join('\n');
      throw protocolError(wire.endpoint, `refused the connection: ${wire.quote(reply.lines.join(' '))}`, 'The server turned us away before any login: check its connection limits or its block lists.');
    },

    async capabilities(wire): Promise<ServerCapabilities> {
      wire.writeLine(`EHLO ${EHLO_NAME}`);
      const reply = await readReply(wire, 'EHLO');
      if (reply.code !== 250) throw protocolError(wire.endpoint, `refused EHLO: ${wire.quote(reply.lines.join(' '))}`);
      const capabilities = reply.lines.slice(1).map((line) => line.slice(4));
      // "AUTH PLAIN XOAUTH2", and the pre-RFC "AUTH=PLAIN XOAUTH2" some servers still send.
      const mechanisms = capabilities
        .filter((keyword) => /^AUTH[ =]/i.test(keyword))
        .flatMap((keyword) => keyword.slice(5).split(/\s+/))
        .filter((name) => name !== '')
        .map((name) => name.toUpperCase());
      return {
        capabilities,
        mechanisms: [...new Set(mechanisms)],
        starttls: capabilities.some((keyword) => keyword.toUpperCase() === 'STARTTLS'),
      };
    },

    async startTls(wire) {
      wire.writeLine('STARTTLS');
      const reply = await readReply(wire, 'STARTTLS');
      if (reply.code !== 220) throw protocolError(wire.endpoint, `refused STARTTLS: ${wire.quote(reply.lines.join(' '))}`);
    },

    async authenticate(wire, mechanism, initialResponse): Promise<AuthenticationResult> {
      wire.writeLine(`AUTH ${mechanism}`);
      const goAhead = await readReply(wire, `the go-ahead for AUTH ${mechanism}`);
      if (goAhead.code !== 334) return { accepted: false, reply: goAhead.lines };
      wire.writeLine(initialResponse);
      let errorDetail: AuthenticationResult['errorDetail'];
      for (;;) {
        const reply = await readReply(wire, `the answer to AUTH ${mechanism}`);
        if (reply.code === 334) {
          // The error challenge: the refusal comes as a 5xx once we answer it with an empty line.
          errorDetail = decodeErrorChallenge(reply.lines.map((line) => line.slice(4)).join(''));
          wire.writeLine('');
          continue;
        }
        return { accepted: reply.code === 235, reply: reply.lines, ...(errorDetail === undefined ? {} : { errorDetail }) };
      }
    },

    async command(wire, line) {
      wire.writeLine(line);
      return (await readReply(wire, line.split(/[\s:]/)[0] ?? line)).lines;
    },

    async quit(wire) {
      wire.writeLine('QUIT');
      await readReply(wire, 'QUIT');
    },
  };
}

