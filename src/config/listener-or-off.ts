import { z } from 'zod';
import { parseHostPort, type HostPort } from './host-port.js';

/**
 * A listener address that may be switched off: `HOST:PORT`, or `off` (YAML `false` reads the same).
 * Validated into a HostPort, or null for off.
 */
export function hostPortOrOff(description: string): z.ZodType<HostPort | null, string | boolean> {
  return z
    .union([z.string(), z.literal(false)])
    .describe(description)
    .transform((value, ctx) => {
      if (value === false || value.trim().toLowerCase() === 'off') return null;
      const parsed = parseHostPort(value);
      if (!parsed) {
        ctx.addIssue({ code: 'custom', message: `expected HOST:PORT such as 127.0.0.1:9901, or off, got ${JSON.stringify(value)}` });
        return z.NEVER;
      }
      return parsed;
    });
}
