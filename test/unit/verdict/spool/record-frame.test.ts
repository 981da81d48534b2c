import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeRecord, FRAME_HEADER_BYTES, scanRecords } from '../../../../src/verdict/spool/record-frame.js';

const payload = (text: string): Buffer => Buffer.from(text, 'utf8');

describe('record framing', () => {
  it('reads back every record with its offsets', () => {
    const frames = [encodeRecord(payload('one')), encodeRecord(payload('two!'))];
    const scan = scanRecords(Buffer.concat(frames), 0, 100);
    expect(scan.records.map((record) => record.payload.toString())).toEqual(['one', 'two!']);
    expect(scan.records.map((record) => [record.start, record.end])).toEqual([
      [100, 100 + FRAME_HEADER_BYTES + 3],
      [100 + FRAME_HEADER_BYTES + 3, 100 + 2 * FRAME_HEADER_BYTES + 7],
    ]);
    expect(scan.tornBytes).toBe(0);
  });

  it('skips a record that fails its checksum when an intact record follows it, and counts it', () => {
    const good = encodeRecord(payload('kept'));
    const flipped = encodeRecord(payload('flipped'));
    flipped[FRAME_HEADER_BYTES + 2] = (flipped[FRAME_HEADER_BYTES + 2] ?? 0) ^ 0x01;
    const badCrc = encodeRecord(payload('bad crc'));
    badCrc[5] = (badCrc[5] ?? 0) ^ 0x80;
    const after = encodeRecord(payload('after'));
    const scan = scanRecords(Buffer.concat([good, flipped, after, badCrc, good]), 0, 100);
    expect(scan.records.map((record) => record.payload.toString())).toEqual(['kept', 'after', 'kept']);
    // Offsets are the frames' own: the skipped ones lie between them.
    expect(scan.records.map((record) => record.start)).toEqual([100, 100 + good.length + flipped.length, 100 + good.length + flipped.length + after.length + badCrc.length]);
    expect(scan.skipped).toBe(2);
    expect(scan.tornBytes).toBe(0);
    expect(scan.validEnd).toBe(100 + good.length * 2 + flipped.length + after.length + badCrc.length);
  });

  it('stops at zeros left by the file system, an absurd length, a bad record with nothing intact after it, or a corrupted length', () => {
    const good = encodeRecord(payload('kept'));
    const after = encodeRecord(payload('after'));
    const flipped = encodeRecord(payload('flipped'));
    flipped[FRAME_HEADER_BYTES + 2] = (flipped[FRAME_HEADER_BYTES + 2] ?? 0) ^ 0x01;
    // A plausible length that is not the record's: its "next frame" starts inside the one after.
    const longer = encodeRecord(payload('longer'));
    longer.writeUInt32LE(longer.readUInt32LE(0) + 3, 0);
    const shorter = encodeRecord(payload('shorter'));
    shorter.writeUInt32LE(shorter.readUInt32LE(0) - 1, 0);
    for (const tail of [
      [Buffer.alloc(64), after],
      [Buffer.from([0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0]), after],
      [flipped],
      [flipped, Buffer.alloc(64), after],
      [longer, after, after],
      [shorter, after, after],
    ]) {
      const scan = scanRecords(Buffer.concat([good, ...tail]));
      expect(scan.records.map((record) => record.payload.toString())).toEqual(['kept']);
      expect(scan.validEnd).toBe(good.length);
      expect(scan.skipped).toBe(0);
      expect(scan.tornBytes).toBeGreaterThan(0);
    }
  });

  it('one flipped bit anywhere in a record other than the last costs that record only', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ minLength: 1, maxLength: 40 }), { minLength: 2, maxLength: 8 }), fc.nat(), fc.nat(), (texts, which, bitSeed) => {
        const frames = texts.map((text) => encodeRecord(payload(text)));
        const hit = which % (frames.length - 1);
        const frame = frames[hit] ?? Buffer.alloc(0);
        // Checksum or payload: a flipped length is the case above.
        const bit = 32 + (bitSeed % ((frame.length - 4) * 8));
        frame[bit >> 3] = (frame[bit >> 3] ?? 0) ^ (1 << (bit & 7));
        const scan = scanRecords(Buffer.concat(frames));
        expect(scan.records.map((record) => record.payload.toString())).toEqual(texts.filter((_, i) => i !== hit));
        expect(scan.skipped).toBe(1);
        expect(scan.tornBytes).toBe(0);
      }),
      { seed: 11, numRuns: 300 },
    );
  });

  it('a cut anywhere keeps exactly the records that are whole before it', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 8 }), fc.nat(), (texts, cutSeed) => {
        const frames = texts.map((text) => encodeRecord(payload(text)));
        const whole = Buffer.concat(frames);
        const cut = cutSeed % (whole.length + 1);
        const scan = scanRecords(whole.subarray(0, cut));
        let end = 0;
        const expected: string[] = [];
        for (const [index, frame] of frames.entries()) {
          if (end + frame.length > cut) break;
          end += frame.length;
          expected.push(texts[index] ?? '');
        }
        expect(scan.records.map((record) => record.payload.toString())).toEqual(expected);
        expect(scan.validEnd).toBe(end);
        expect(scan.tornBytes).toBe(cut - end);
        expect(scan.skipped).toBe(0);
      }),
      { seed: 7, numRuns: 500 },
    );
  });
});
