import { z } from 'zod';

const UNITS: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};
const SIZE_RE = /^(\d+(?:\.\d+)?)\s*([a-z]+)$/i;

/** "64MiB", "512KiB", "1GB", "4096B" → bytes; undefined when the text is not a size. */
export function parseByteSize(text: string): number | undefined {
  const match = SIZE_RE.exec(text.trim());
  if (!match) return undefined;
  const [, amount, unit] = match;
  const factor = unit === undefined ? undefined : UNITS[unit.toLowerCase()];
  if (amount === undefined || factor === undefined) return undefined;
  return Math.floor(Number(amount) * factor);
}

/** Schema for a size in bytes: a whole number, or text with a unit (B, KiB, MiB, GiB, KB, MB, GB). */
export function byteSize(description: string, min: number, max: number): z.ZodType<number, number | string> {
  return z
    .union([z.number(), z.string()])
    .describe(description)
    .transform((value, ctx) => {
      const bytes = typeof value === 'number' ? (Number.isSafeInteger(value) ? value : undefined) : parseByteSize(value);
      if (bytes === undefined || bytes < min || bytes > max) {
        ctx.addIssue({
          code: 'custom',
          message: `expected a size between ${min} and ${max} bytes, such as 64MiB or 512KiB, got ${JSON.stringify(value)}`,
        });
        return z.NEVER;
      }
      return bytes;
    });
}
