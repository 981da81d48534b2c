import { crc32 } from 'node:zlib';

/**
 * The spool's record framing: `[u32 LE payload length][u32 LE crc32(payload)][payload]`. A record
 * torn by a crash (short header, short payload, zeros left by the file system, a checksum that does
 * not match) ends the readable part of a segment: everything before it is kept, nothing after it
 * is trusted.
 */
export const FRAME_HEADER_BYTES = 8;
/** No spooled report comes near this; a larger length field is corruption, not a record. */
export const MAX_PAYLOAD_BYTES = 1024 * 1024;

export function encodeRecord(payload: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  frame.writeUInt32LE(payload.length, 0);
  frame.writeUInt32LE(crc32(payload), 4);
  payload.copy(frame, FRAME_HEADER_BYTES);
  return frame;
}

export interface FramedRecord {
  /** Offset of the frame in the scanned buffer (plus the scan's base offset). */
  readonly start: number;
  /** Offset just past the frame. */
  readonly end: number;
  readonly payload: Buffer;
}

export interface ScanResult {
  readonly records: FramedRecord[];
  /** Offset just past the last intact record: where the next append belongs. */
  readonly validEnd: number;
  /** Bytes after validEnd that do not form an intact record (a torn append, or corruption). */
  readonly tornBytes: number;
}

/** Reads every intact record of `buffer` from `from`; `base` is added to reported offsets. Never throws. */
export function scanRecords(buffer: Buffer, from = 0, base = 0): ScanResult {
  const records: FramedRecord[] = [];
  let at = from;
  while (at + FRAME_HEADER_BYTES <= buffer.length) {
    const length = buffer.readUInt32LE(at);
    if (length === 0 || length > MAX_PAYLOAD_BYTES || at + FRAME_HEADER_BYTES + length > buffer.length) break;
    const payload = buffer.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + length);
    if (crc32(payload) !== buffer.readUInt32LE(at + 4)) break;
    const end = at + FRAME_HEADER_BYTES + length;
    records.push({ start: base + at, end: base + end, payload });
    at = end;
  }
  return { records, validEnd: base + at, tornBytes: buffer.length - at };
}
