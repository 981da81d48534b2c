import { createHash, randomBytes, sign, type KeyObject } from 'node:crypto';
import { parseIp } from '../net/ip-address.js';
import { bitString, boolean, children, octetString, oid, readElement, sequence, set, smallInteger, time, tlv, unsignedInteger, utf8String } from './der.js';

/**
 * X.509 v3 certificates signed with ECDSA P-256 / SHA-256 by `node:crypto`, built from DER parts:
 * synchronous, well under a millisecond, no event-loop stall (a general ASN.1 library measured
 * 8-36 ms per leaf here). Only what the interception CA and its leaves need is covered.
 */
const OID = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyId: '2.5.29.14',
  authorityKeyId: '2.5.29.35',
  serverAuth: '1.3.6.1.5.5.7.3.1',
} as const;

export interface CertificateFields {
  /** DER Name of the subject (see `distinguishedName`). */
  readonly subject: Buffer;
  /** DER Name of the issuer, byte for byte as in the issuer's own certificate. */
  readonly issuer: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The subject's public key as DER SubjectPublicKeyInfo. */
  readonly spki: Buffer;
  /** DER Extension elements (see the builders below). */
  readonly extensions: readonly Buffer[];
  /** The issuer's private key (ECDSA P-256). */
  readonly signingKey: KeyObject;
}

const SIGNATURE_ALGORITHM = sequence(oid(OID.ecdsaWithSha256));

/** A signed certificate, DER. A random positive 128-bit serial number. */
export function buildCertificate(fields: CertificateFields): Buffer {
  const serial = randomBytes(16);
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x01;
  const tbs = sequence(
    tlv(0xa0, smallInteger(2)),
    unsignedInteger(serial),
    SIGNATURE_ALGORITHM,
    fields.issuer,
    sequence(time(fields.notBefore), time(fields.notAfter)),
    fields.subject,
    fields.spki,
    tlv(0xa3, sequence(...fields.extensions)),
  );
  const signature = sign('sha256', tbs, { key: fields.signingKey, dsaEncoding: 'der' });
  return sequence(tbs, SIGNATURE_ALGORITHM, bitString(signature));
}

/** A Name with an optional organization and a common name (UTF8String values). */
export function distinguishedName(commonName: string | null, organization: string | null = null): Buffer {
  const attributes: Buffer[] = [];
  if (organization !== null) attributes.push(set(sequence(oid(OID.organization), utf8String(organization))));
  if (commonName !== null) attributes.push(set(sequence(oid(OID.commonName), utf8String(commonName))));
  return sequence(...attributes);
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? sequence(oid(id), boolean(true), octetString(value)) : sequence(oid(id), octetString(value));
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits of a DER SubjectPublicKeyInfo. */
export function keyIdentifier(spki: Buffer): Buffer {
  const outer = readElement(spki, 0);
  const key = children(spki, outer)[1];
  if (key === undefined) throw new Error('not a SubjectPublicKeyInfo');
  // The BIT STRING's first content octet counts unused bits; the key follows.
  return createHash('sha1').update(spki.subarray(key.contentStart + 1, key.end)).digest();
}

export const caExtensions = (subjectKeyId: Buffer): Buffer[] => [
  extension(OID.basicConstraints, true, sequence(boolean(true), smallInteger(0))),
  // keyCertSign (bit 5) and cRLSign (bit 6): one byte 0b0000_0110, one unused bit.
  extension(OID.keyUsage, true, bitString(Buffer.from([0x06]), 1)),
  extension(OID.subjectKeyId, false, octetString(subjectKeyId)),
];

/** A server leaf for one host: a DNS name or an IP address as its only subject alternative name. */
export function leafExtensions(host: string, subjectKeyId: Buffer, authorityKeyId: Buffer, subjectIsEmpty: boolean): Buffer[] {
  return [
    extension(OID.basicConstraints, true, sequence()),
    // digitalSignature (bit 0): 0b1000_0000, seven unused bits.
    extension(OID.keyUsage, true, bitString(Buffer.from([0x80]), 7)),
    extension(OID.extKeyUsage, false, sequence(oid(OID.serverAuth))),
    // With an empty subject the SAN carries the identity and must be critical (RFC 5280 §4.2.1.6).
    extension(OID.subjectAltName, subjectIsEmpty, sequence(generalName(host))),
    extension(OID.subjectKeyId, false, octetString(subjectKeyId)),
    extension(OID.authorityKeyId, false, sequence(tlv(0x80, authorityKeyId))),
  ];
}

/** dNSName [2] IA5String, or iPAddress [7] OCTET STRING of 4 or 16 bytes. */
function generalName(host: string): Buffer {
  const ip = parseIp(host);
  if (ip === undefined) return tlv(0x82, Buffer.from(host, 'ascii'));
  if (ip.family === 4) {
    const bytes = Buffer.alloc(4);
    bytes.writeUInt32BE(ip.value);
    return tlv(0x87, bytes);
  }
  const bytes = Buffer.alloc(16);
  ip.words.forEach((word, i) => bytes.writeUInt32BE(word, i * 4));
  return tlv(0x87, bytes);
}
