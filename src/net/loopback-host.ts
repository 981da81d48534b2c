import { isIP } from 'node:net';

/** True for names and addresses that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const lower = host.toLowerCase();
  if (lower === 'localhost') return true;
  if (isIP(lower) === 4) return lower.startsWith('127.');
  return lower === '::1' || lower.startsWith('::ffff:127.');
}
