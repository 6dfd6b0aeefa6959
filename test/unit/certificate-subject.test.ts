// Certificate subjects of server.clients[].certificateSubject: parsing
// (RFC 4514 escapes, what openssl prints), and the order-free form a
// configured subject and a peer certificate's subject are compared by.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { canonicalCertificateSubject, formatCertificateSubject, parseCertificateSubject, subjectAttributesOf } from '../../src/config/index.js';

const canonical = (text: string): string => {
  const parsed = parseCertificateSubject(text);
  assert.ok(!('error' in parsed), `${text}: ${'error' in parsed ? parsed.error : ''}`);
  return canonicalCertificateSubject(parsed);
};

describe('certificate subjects', () => {
  test('order, spacing and the case of attribute names do not matter; values are exact', () => {
    assert.equal(canonical('CN=connector-1'), 'CN=connector-1');
    assert.equal(canonical('O = Acme, CN = connector-1'), 'CN=connector-1,O=Acme');
    assert.equal(canonical('cn=connector-1+o=Acme'), 'CN=connector-1,O=Acme');
    assert.notEqual(canonical('CN=Connector-1'), canonical('CN=connector-1'));
    assert.notEqual(canonical('CN=connector-1'), canonical('CN=connector-1,O=Acme'));
  });

  test('escapes: \\, \\2C and an escaped trailing space', () => {
    const parsed = parseCertificateSubject('CN=Doe\\, John, O=A\\2CB, OU=x\\ ');
    assert.deepEqual(parsed, [
      { type: 'CN', value: 'Doe, John' },
      { type: 'O', value: 'A,B' },
      { type: 'OU', value: 'x ' },
    ]);
    assert.equal(formatCertificateSubject(parsed as never), 'CN=Doe\\, John,O=A\\,B,OU=x\\ ');
  });

  test('what is not a subject says why', () => {
    assert.deepEqual(parseCertificateSubject('CN='), { error: 'CN has an empty value' });
    assert.deepEqual(parseCertificateSubject('CN=a,'), { error: 'must be a distinguished name such as "CN=connector-1" or "CN=connector-1, O=Acme"; "" is not TYPE=value' });
    assert.deepEqual(parseCertificateSubject('CN=a\\'), { error: 'ends with a lone "\\"; escape a backslash as "\\\\"' });
  });

  test('a peer certificate subject from node:tls, repeated attributes included, compares with the configured one', () => {
    const peer = subjectAttributesOf({ CN: 'connector-1', OU: ['b', 'a'], O: 'Acme' });
    assert.equal(canonicalCertificateSubject(peer), canonical('OU=a, OU=b, O=Acme, CN=connector-1'));
    assert.equal(formatCertificateSubject(peer), 'CN=connector-1,OU=b,OU=a,O=Acme');
  });
});
