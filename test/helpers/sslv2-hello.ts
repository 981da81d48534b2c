/**
 * A ClientHello in SSL 2.0's record format offering TLS 1.2 (RFC 5246 appendix E.2), as clients
 * of the SSLv2 era sent it for compatibility: a 2-byte header whose high bit is set, CLIENT-HELLO
 * (1), the version 0x0303, then 3-byte cipher specs, no session id and a 32-byte challenge. It
 * carries no extensions, so no SNI. OpenSSL servers before 3.0 (and 3.x at security level 0)
 * still accept it. No client of today can be made to send one, hence these bytes.
 */
export function sslv2ClientHello(): Buffer {
  // ECDHE-ECDSA-AES128-GCM-SHA256, ECDHE-RSA-AES128-GCM-SHA256, AES128-GCM-SHA256, AES128-SHA.
  const suites = [0xc02b, 0xc02f, 0x009c, 0x002f];
  const specs = Buffer.concat(suites.map((suite) => Buffer.from([0x00, suite >> 8, suite & 0xff])));
  const challenge = Buffer.alloc(32, 0x5a);
  const fields = Buffer.alloc(9);
  fields[0] = 0x01;
  fields.writeUInt16BE(0x0303, 1);
  fields.writeUInt16BE(specs.length, 3);
  fields.writeUInt16BE(0, 5);
  fields.writeUInt16BE(challenge.length, 7);
  const body = Buffer.concat([fields, specs, challenge]);
  const header = Buffer.alloc(2);
  header.writeUInt16BE(0x8000 | body.length);
  return Buffer.concat([header, body]);
}
