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

  it('stops at a flipped bit, zeros left by the file system, or an absurd length', () => {
    const good = encodeRecord(payload('kept'));
    const flipped = encodeRecord(payload('flipped'));
    flipped[FRAME_HEADER_BYTES + 2] = (flipped[FRAME_HEADER_BYTES + 2] ?? 0) ^ 0x01;
    for (const tail of [flipped, Buffer.alloc(64), Buffer.from([0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0])]) {
      const scan = scanRecords(Buffer.concat([good, tail, encodeRecord(payload('after'))]));
      expect(scan.records.map((record) => record.payload.toString())).toEqual(['kept']);
      expect(scan.validEnd).toBe(good.length);
    }
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
      }),
      { seed: 7, numRuns: 500 },
    );
  });
});
