import { z } from 'zod';

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;

/** "1500ms", "30s", "5m", "1h" → milliseconds; undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION_RE.exec(text.trim());
  if (!match) return undefined;
  const [, amount, unit] = match;
  const factor = unit === undefined ? undefined : UNITS[unit];
  if (amount === undefined || factor === undefined) return undefined;
  return Math.round(Number(amount) * factor);
}

export interface DurationBounds {
  /**
   * The least value accepted, in milliseconds: 1 unless said otherwise, because a deadline or an
   * interval of 0 is not "off" for most keys but something worse (every verdict timed out, no
   * slowloris deadline). A key where 0 does mean off passes 0 and says so in its description.
   */
  readonly min?: number;
  readonly max?: number;
}

/** Schema for a duration written as text; yields milliseconds. */
export function duration(description: string, { min = 1, max = 86_400_000 }: DurationBounds = {}): z.ZodType<number, string> {
  return z
    // A bare number (`connect_timeout: 10`) has no unit to read it in: say so, not "expected string".
    .string({ error: (issue) => (issue.input === undefined ? undefined : `expected a duration with a unit such as 1500ms, 30s, 5m or 1h, got ${JSON.stringify(issue.input)}`) })
    .describe(description)
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === undefined || ms > max) {
        ctx.addIssue({
          code: 'custom',
          message: `expected a duration such as 1500ms, 30s, 5m or 1h (at most ${max / 1000}s), got ${JSON.stringify(text)}`,
        });
        return z.NEVER;
      }
      if (ms < min) {
        ctx.addIssue({ code: 'custom', message: `expected at least ${formatDuration(min)}, got ${JSON.stringify(text)}` });
        return z.NEVER;
      }
      return ms;
    });
}

export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0 && ms > 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
