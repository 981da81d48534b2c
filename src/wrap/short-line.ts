/** Fields that every pino line carries and a one-line notice does not need. */
const BOILERPLATE = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'component', 'err']);
const MAX_LENGTH = 300;

/**
 * One pino JSON line → one short human line for stderr, e.g.
 * `kaizen-proxy: warn: no verdict: allowing because fail mode is open (code=..., target=...)`.
 * Only scalar fields are kept; the line is cut at a few hundred characters.
 */
export function shortLine(json: string): string {
  let record: unknown;
  try {
    record = JSON.parse(json);
  } catch {
    return clip(`kaizen-proxy: ${json.trim()}`);
  }
  if (record === null || typeof record !== 'object') return clip(`kaizen-proxy: ${json.trim()}`);
  const fields = record as Record<string, unknown>;
  const level = typeof fields['level'] === 'string' ? fields['level'] : 'log';
  const msg = typeof fields['msg'] === 'string' ? fields['msg'] : '';
  const details: string[] = [];
  const err = fields['err'];
  if (err !== null && typeof err === 'object' && 'message' in err && typeof err.message === 'string') details.push(err.message);
  for (const [key, value] of Object.entries(fields)) {
    if (BOILERPLATE.has(key)) continue;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') details.push(`${key}=${String(value)}`);
  }
  return clip(`kaizen-proxy: ${level}: ${msg}${details.length > 0 ? ` (${details.join(', ')})` : ''}`);
}

function clip(line: string): string {
  const single = line.replace(/[\r\n]+/g, ' ');
  return single.length > MAX_LENGTH ? `${single.slice(0, MAX_LENGTH - 1)}…` : single;
}
