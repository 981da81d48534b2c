/**
 * The few DER (X.690) encodings a certificate needs, and a reader for the fields we take from a
 * CA certificate. Lengths are definite, INTEGERs are non-negative: nothing else occurs here.
 */
export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

function lengthBytes(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One tag-length-value; `tag` is the whole identifier octet (context tags: 0x80 | n, constructed 0xa0 | n). */
export function tlv(tag: number, ...contents: readonly Buffer[]): Buffer {
  const body = Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), lengthBytes(body.length), body]);
}

export const sequence = (...items: readonly Buffer[]): Buffer => tlv(TAG.SEQUENCE, ...items);
export const set = (...items: readonly Buffer[]): Buffer => tlv(TAG.SET, ...items);
export const octetString = (bytes: Buffer): Buffer => tlv(TAG.OCTET_STRING, bytes);
export const bitString = (bytes: Buffer, unusedBits = 0): Buffer => tlv(TAG.BIT_STRING, Buffer.from([unusedBits]), bytes);
export const boolean = (value: boolean): Buffer => tlv(TAG.BOOLEAN, Buffer.from([value ? 0xff : 0x00]));
export const utf8String = (text: string): Buffer => tlv(TAG.UTF8_STRING, Buffer.from(text, 'utf8'));

/** A non-negative INTEGER from its big-endian magnitude (a leading 0x00 added when the top bit is set). */
export function unsignedInteger(magnitude: Buffer): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = magnitude.subarray(start);
  const first = trimmed[0] ?? 0;
  return tlv(TAG.INTEGER, first >= 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

export const smallInteger = (value: number): Buffer => unsignedInteger(Buffer.from([value]));

/** Dotted text ("2.5.29.17") to an OBJECT IDENTIFIER. */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const [first = 0, second = 0, ...rest] = arcs;
  const bytes: number[] = [first * 40 + second];
  for (const arc of rest) {
    const groups: number[] = [arc & 0x7f];
    for (let value = Math.floor(arc / 128); value > 0; value = Math.floor(value / 128)) groups.unshift((value & 0x7f) | 0x80);
    bytes.push(...groups);
  }
  return tlv(TAG.OID, Buffer.from(bytes));
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; whole seconds, Zulu. */
export function time(date: Date): Buffer {
  const iso = date.toISOString();
  const digits = iso.slice(0, 19).replace(/[-:T]/g, '');
  const year = date.getUTCFullYear();
  if (year < 2050) return tlv(TAG.UTC_TIME, Buffer.from(`${digits.slice(2)}Z`, 'ascii'));
  return tlv(TAG.GENERALIZED_TIME, Buffer.from(`${digits}Z`, 'ascii'));
}

/** One element read from DER: its tag, and where its contents and the whole element lie in the buffer. */
export interface DerElement {
  readonly tag: number;
  /** Offset of the identifier octet. */
  readonly start: number;
  /** Offset of the first content octet. */
  readonly contentStart: number;
  /** Offset just past the element. */
  readonly end: number;
}

/** The element at `offset`; throws on a truncated or indefinite-length encoding. */
export function readElement(der: Buffer, offset: number): DerElement {
  const tag = der[offset];
  const first = der[offset + 1];
  if (tag === undefined || first === undefined) throw new Error('truncated DER');
  let length = first;
  let contentStart = offset + 2;
  if (first >= 0x80) {
    const count = first & 0x7f;
    if (count === 0 || count > 4) throw new Error('unsupported DER length');
    length = 0;
    for (let i = 0; i < count; i++) {
      const byte = der[offset + 2 + i];
      if (byte === undefined) throw new Error('truncated DER');
      length = length * 256 + byte;
    }
    contentStart += count;
  }
  const end = contentStart + length;
  if (end > der.length) throw new Error('truncated DER');
  return { tag, start: offset, contentStart, end };
}

/** The elements inside a constructed element, in order. */
export function children(der: Buffer, parent: DerElement): DerElement[] {
  const found: DerElement[] = [];
  for (let offset = parent.contentStart; offset < parent.end; ) {
    const element = readElement(der, offset);
    found.push(element);
    offset = element.end;
  }
  return found;
}
