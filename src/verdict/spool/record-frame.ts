import { crc32 } from 'node:zlib';

/**
 * The spool's record framing: `[u32 LE payload length][u32 LE crc32(payload)][payload]`. A record
 * whose checksum fails but whose frame is whole, with a plausible length, and followed by an intact
 * frame was damaged in place (a flipped bit): it is skipped, and the records after it are kept. Any
 * other bad frame (short header, short payload, zeros left by the file system, an absurd length, or
 * a checksum failure with nothing intact after it) ends the readable part of a segment as a torn
 * tail: everything before it is kept, nothing after it is trusted, since a damaged length would
 * otherwise have the scan read garbage as records.
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
  /** Frames skipped before validEnd: whole, but failing their checksum, with an intact frame after each. */
  readonly skipped: number;
}

type Frame =
  | { readonly kind: 'intact'; readonly end: number; readonly payload: Buffer }
  /** Whole, with a plausible length, but its checksum fails. */
  | { readonly kind: 'damaged'; readonly end: number }
  | { readonly kind: 'torn' };

function frameAt(buffer: Buffer, at: number): Frame {
  if (at + FRAME_HEADER_BYTES > buffer.length) return { kind: 'torn' };
  const length = buffer.readUInt32LE(at);
  const end = at + FRAME_HEADER_BYTES + length;
  if (length === 0 || length > MAX_PAYLOAD_BYTES || end > buffer.length) return { kind: 'torn' };
  const payload = buffer.subarray(at + FRAME_HEADER_BYTES, end);
  return crc32(payload) === buffer.readUInt32LE(at + 4) ? { kind: 'intact', end, payload } : { kind: 'damaged', end };
}

/** Reads every intact record of `buffer` from `from`; `base` is added to reported offsets. Never throws. */
export function scanRecords(buffer: Buffer, from = 0, base = 0): ScanResult {
  const records: FramedRecord[] = [];
  let skipped = 0;
  let at = from;
  while (at < buffer.length) {
    const frame = frameAt(buffer, at);
    if (frame.kind === 'torn') break;
    if (frame.kind === 'damaged') {
      // Only an intact frame right after it shows the length was the record's own.
      if (frameAt(buffer, frame.end).kind !== 'intact') break;
      skipped += 1;
      at = frame.end;
      continue;
    }
    records.push({ start: base + at, end: base + frame.end, payload: frame.payload });
    at = frame.end;
  }
  return { records, validEnd: base + at, tornBytes: buffer.length - at, skipped };
}
