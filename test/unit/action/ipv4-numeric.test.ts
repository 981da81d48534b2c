import { describe, expect, it } from 'vitest';
import { endsInNumber, parseNumericIpv4 } from '../../../src/action/ipv4-numeric.js';

describe('endsInNumber', () => {
  it.each([
    ['2130706433', true],
    ['127.0.0.1', true],
    ['127.0.0.1.', true],
    ['0x7f.1', true],
    ['example.0x', true],
    ['example.123', true],
    ['example.com', false],
    ['123.example', false],
    ['example.0xg', false],
    ['', false],
  ])('%j → %s', (host, expected) => {
    expect(endsInNumber(host)).toBe(expected);
  });
});

describe('parseNumericIpv4', () => {
  it.each([
    ['127.0.0.1', 0x7f000001],
    ['2130706433', 0x7f000001],
    ['0x7f000001', 0x7f000001],
    ['0X7F000001', 0x7f000001],
    ['0x7f.1', 0x7f000001],
    ['0177.0.0.1', 0x7f000001],
    ['127.1', 0x7f000001],
    ['127.0.1', 0x7f000001],
    ['0', 0],
    ['00', 0],
    ['4294967295', 0xffffffff],
    ['169.254.43518', 0xa9fea9fe],
    ['0xa9.0xfe.0xa9.0xfe', 0xa9fea9fe],
    ['1.2.3.4.', 0x01020304],
  ])('%s → %s', (host, value) => {
    expect(parseNumericIpv4(host)).toBe(value);
  });

  it.each([
    '999999999999',
    '4294967296',
    '1.2.3.256',
    '256.1.2.3',
    '1.2.65536',
    '1.16777216',
    '1.2.3.4.5',
    '08.0.0.1',
    '0x',
    '0xg',
    '1..2',
    '',
    'example.123',
    '1.2.3.-4',
    '99999999999999999999999999',
  ])('refuses %j', (host) => {
    expect(parseNumericIpv4(host)).toBeUndefined();
  });
});
