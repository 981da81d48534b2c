import { isIP } from 'node:net';
import { z } from 'zod';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** "127.0.0.1:8080", "[::1]:8080", "localhost:0" → {host, port}; undefined when malformed. */
export function parseHostPort(text: string, allowZero = true): HostPort | undefined {
  const trimmed = text.trim();
  let host: string;
  let portText: string;
  if (trimmed.startsWith('[')) {
    const close = trimmed.indexOf(']');
    if (close < 0 || trimmed[close + 1] !== ':') return undefined;
    host = trimmed.slice(1, close);
    portText = trimmed.slice(close + 2);
    if (isIP(host) !== 6) return undefined;
  } else {
    const colon = trimmed.lastIndexOf(':');
    if (colon <= 0) return undefined;
    host = trimmed.slice(0, colon);
    portText = trimmed.slice(colon + 1);
    if (host.includes(':')) return undefined;
  }
  if (!/^\d{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port > 65535 || (port === 0 && !allowZero)) return undefined;
  return { host, port };
}

export function formatHostPort({ host, port }: HostPort): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A listener address, `HOST:PORT`; a value of another type (`listen: 8080`) gets the same message. */
export function hostPort(description: string): z.ZodType<HostPort, string> {
  const expected = (value: unknown): string => `expected HOST:PORT such as 127.0.0.1:8080 or [::1]:8080, got ${JSON.stringify(value)}`;
  return z
    .string({ error: (issue) => (issue.input === undefined ? undefined : expected(issue.input)) })
    .describe(description)
    .transform((text, ctx) => {
      const parsed = parseHostPort(text);
      if (!parsed) {
        ctx.addIssue({ code: 'custom', message: expected(text) });
        return z.NEVER;
      }
      return parsed;
    });
}
