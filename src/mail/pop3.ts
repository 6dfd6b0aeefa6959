// POP3 (RFC 1939) as far as an OAuth login needs: CAPA (RFC 2449), STLS
// (RFC 2595) and AUTH with an initial response (RFC 5034).
import type { AuthenticationResult, MailDialect, ServerCapabilities } from './dialect.js';
import { protocolError } from './mail-errors.js';
import type { MailWire } from './mail-wire.js';
import { decodeErrorChallenge } from './sasl.js';

/** Commands whose +OK opens a multi-line answer ended by a lone "." (LIST and UIDL only without an argument). */
function isMultiLine(line: string): boolean {
  const [verb = '', argument] = line.trim().split(/\s+/);
  switch (verb.toUpperCase()) {
    case 'CAPA':
    case 'RETR':
    case 'TOP':
      return true;
    case 'LIST':
    case 'UIDL':
      return argument === undefined;
    default:
      return false;
  }
}

async function readMultiLine(wire: MailWire, waitingFor: string): Promise<string[]> {
  const lines: string[] = [];
  for (;;) {
    const line = await wire.readLine(waitingFor);
    if (line === '.') return lines;
    // Byte-stuffing: a line that starts with "." was sent with one more.
    lines.push(line.startsWith('.') ? line.slice(1) : line);
  }
}

export function pop3Dialect(): MailDialect {
  return {
    async greet(wire) {
      const line = await wire.readLine('the POP3 greeting');
      if (/^\+OK\b/i.test(line)) return line;
      throw protocolError(wire.endpoint, `did not greet as a POP3 server (it sent "${wire.quote(line)}").`);
    },

    async capabilities(wire): Promise<ServerCapabilities> {
      wire.writeLine('CAPA');
      const status = await wire.readLine('CAPA');
      // A server without CAPA (RFC 1939 only) offers no SASL we could know of.
      const capabilities = /^\+OK\b/i.test(status) ? await readMultiLine(wire, 'CAPA') : [];
      const sasl = capabilities.find((line) => /^SASL\b/i.test(line));
      return {
        capabilities,
        mechanisms: sasl === undefined ? [] : sasl.split(/\s+/).slice(1).map((name) => name.toUpperCase()),
        starttls: capabilities.some((line) => line.toUpperCase() === 'STLS'),
      };
    },

    async startTls(wire) {
      wire.writeLine('STLS');
      const line = await wire.readLine('STLS');
      if (!/^\+OK\b/i.test(line)) throw protocolError(wire.endpoint, `refused STLS: ${wire.quote(line)}`);
    },

    async authenticate(wire, mechanism, initialResponse): Promise<AuthenticationResult> {
      wire.writeLine(`AUTH ${mechanism} ${initialResponse}`);
      let errorDetail: AuthenticationResult['errorDetail'];
      for (;;) {
        const line = await wire.readLine(`the answer to AUTH ${mechanism}`);
        if (line === '+' || line.startsWith('+ ')) {
          errorDetail = decodeErrorChallenge(line.slice(1));
          wire.writeLine('');
          continue;
        }
        if (/^[+-](OK|ERR)\b/i.test(line)) {
          return { accepted: /^\+OK\b/i.test(line), reply: [line], ...(errorDetail === undefined ? {} : { errorDetail }) };
        }
        throw protocolError(wire.endpoint, `answered "${wire.quote(line)}" to AUTH ${mechanism}.`);
      }
    },

    async command(wire, line) {
      wire.writeLine(line);
      const status = await wire.readLine(line.split(' ')[0] ?? line);
      if (!/^\+OK\b/i.test(status) || !isMultiLine(line)) return [status];
      return [status, ...(await readMultiLine(wire, line))];
    },

    async quit(wire) {
      wire.writeLine('QUIT');
      await wire.readLine('QUIT');
    },
  };
}
