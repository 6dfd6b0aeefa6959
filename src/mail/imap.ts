// IMAP4rev1 (RFC 3501) as far as an OAuth login needs: CAPABILITY,
// STARTTLS, AUTHENTICATE with SASL-IR (RFC 4959) when offered, tagged
// replies with their untagged lines, and literals inside them.
import type { AuthenticationResult, MailDialect, ServerCapabilities } from './dialect.js';
import { protocolError } from './mail-errors.js';
import type { MailWire } from './mail-wire.js';
import { decodeErrorChallenge } from './sasl.js';
import type { SaslMechanism } from './sasl.js';

interface TaggedReply {
  /** Untagged (`* ...`) lines, literals folded in. */
  readonly untagged: string[];
  /** The tagged completion line. */
  readonly tagged: string;
  /** OK, NO or BAD. */
  readonly status: string;
}

export function imapDialect(): MailDialect {
  let next = 1;
  const tag = (): string => `A${next++}`;

  return {
    async greet(wire) {
      const line = await wire.readLine('the IMAP greeting');
      if (/^\* (OK|PREAUTH)\b/i.test(line)) return line;
      if (/^\* BYE\b/i.test(line)) throw protocolError(wire.endpoint, `refused the connection: ${wire.quote(line)}`, 'The server turned us away before any login: check its connection limits or its block lists.');
      throw protocolError(wire.endpoint, `did not greet as an IMAP server (it sent "${wire.quote(line)}").`);
    },

    async capabilities(wire): Promise<ServerCapabilities> {
      const id = tag();
      wire.writeLine(`${id} CAPABILITY`);
      const reply = await readTagged(wire, id, 'CAPABILITY');
      if (reply.status !== 'OK') throw protocolError(wire.endpoint, `refused CAPABILITY: ${wire.quote(reply.tagged)}`);
      const line = reply.untagged.find((untagged) => /^\* CAPABILITY /i.test(untagged)) ?? '';
      const capabilities = line.split(' ').slice(2).filter((atom) => atom !== '');
      return {
        capabilities,
        mechanisms: capabilities.filter((atom) => /^AUTH=/i.test(atom)).map((atom) => atom.slice(5).toUpperCase()),
        starttls: capabilities.some((atom) => atom.toUpperCase() === 'STARTTLS'),
      };
    },

    async startTls(wire) {
      const id = tag();
      wire.writeLine(`${id} STARTTLS`);
      const reply = await readTagged(wire, id, 'STARTTLS');
      if (reply.status !== 'OK') throw protocolError(wire.endpoint, `refused STARTTLS: ${wire.quote(reply.tagged)}`);
    },

    async authenticate(wire, mechanism: SaslMechanism, initialResponse, capabilities): Promise<AuthenticationResult> {
      const id = tag();
      const saslIr = capabilities.capabilities.some((atom) => atom.toUpperCase() === 'SASL-IR');
      if (saslIr) {
        wire.writeLine(`${id} AUTHENTICATE ${mechanism} ${initialResponse}`);
      } else {
        wire.writeLine(`${id} AUTHENTICATE ${mechanism}`);
        const line = await readFullLine(wire, `the go-ahead for AUTHENTICATE ${mechanism}`);
        if (!line.startsWith('+')) return finish(await completeAfter(wire, id, line));
        wire.writeLine(initialResponse);
      }
      let errorDetail: AuthenticationResult['errorDetail'];
      for (;;) {
        const line = await readFullLine(wire, `the answer to AUTHENTICATE ${mechanism}`);
        if (line.startsWith('+')) {
          // An error challenge: the server refuses and says why; an empty line ends the exchange (RFC 7628 s. 3.2.3).
          errorDetail = decodeErrorChallenge(line.slice(1));
          wire.writeLine('');
          continue;
        }
        const reply = await completeAfter(wire, id, line);
        return { ...finish(reply), ...(errorDetail === undefined ? {} : { errorDetail }) };
      }

      function finish(reply: TaggedReply): AuthenticationResult {
        return { accepted: reply.status === 'OK', reply: [...reply.untagged, reply.tagged] };
      }
    },

    async command(wire, line) {
      const id = tag();
      wire.writeLine(`${id} ${line}`);
      const reply = await readTagged(wire, id, line.split(' ')[0] ?? line);
      return [...reply.untagged, reply.tagged];
    },

    async quit(wire) {
      const id = tag();
      wire.writeLine(`${id} LOGOUT`);
      await readTagged(wire, id, 'LOGOUT');
    },
  };

  /** Reads on to the tagged line when `first` is untagged. */
  async function completeAfter(wire: MailWire, id: string, first: string): Promise<TaggedReply> {
    if (first.startsWith(`${id} `)) return { untagged: [], tagged: first, status: first.slice(id.length + 1).split(' ')[0]?.toUpperCase() ?? '' };
    if (!first.startsWith('* ')) throw protocolError(wire.endpoint, `answered "${wire.quote(first)}" during AUTHENTICATE.`);
    const rest = await readTagged(wire, id, 'AUTHENTICATE');
    return { ...rest, untagged: [first, ...rest.untagged] };
  }
}

/** Reads one whole server line; a line ending in {N} is followed by N bytes and more of the line. */
async function readFullLine(wire: MailWire, waitingFor: string): Promise<string> {
  let line = await wire.readLine(waitingFor);
  for (let literal = /\{(\d+)\+?\}$/.exec(line); literal !== null; literal = /\{(\d+)\+?\}$/.exec(line)) {
    const bytes = await wire.readBytes(Number(literal[1]), waitingFor);
    line = `${line}\r\n${bytes}${await wire.readLine(waitingFor)}`;
  }
  return line;
}

async function readTagged(wire: MailWire, expected: string, waitingFor: string): Promise<TaggedReply> {
  const untagged: string[] = [];
  for (;;) {
    const line = await readFullLine(wire, waitingFor);
    if (line.startsWith('* ')) {
      untagged.push(line);
      continue;
    }
    if (line.startsWith(`${expected} `)) {
      const status = line.slice(expected.length + 1).split(' ')[0]?.toUpperCase() ?? '';
      return { untagged, tagged: line, status };
    }
    throw protocolError(wire.endpoint, `answered "${wire.quote(line)}" where the IMAP reply to ${waitingFor} was expected.`);
  }
}
