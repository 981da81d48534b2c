import { z } from 'zod';
import { parseHostPort, type HostPort } from './host-port.js';

/**
 * A listener address that may be switched off: `HOST:PORT`, or `off` (YAML `false` reads the same).
 * Validated into a HostPort, or null for off. `example` is the address shown in what is expected;
 * a value of another type (`admin: 9901`, `transparent: true`) gets the same message.
 */
export function hostPortOrOff(description: string, example: string): z.ZodType<HostPort | null, string | boolean> {
  const expected = (value: unknown): string => `expected HOST:PORT such as ${example}, or off, got ${JSON.stringify(value)}`;
  return z
    .union([z.string(), z.literal(false)], { error: (issue) => (issue.input === undefined ? undefined : expected(issue.input)) })
    .describe(description)
    .transform((value, ctx) => {
      if (value === false || value.trim().toLowerCase() === 'off') return null;
      const parsed = parseHostPort(value);
      if (!parsed) {
        ctx.addIssue({ code: 'custom', message: expected(value) });
        return z.NEVER;
      }
      return parsed;
    });
}
