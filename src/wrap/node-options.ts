/**
 * Append `--require <file>` to NODE_OPTIONS, keeping what is there. Node splits NODE_OPTIONS on
 * spaces and honours double quotes with backslash escapes, so a path with a space, a quote or a
 * backslash is quoted. A preload already present (a wrapped kaizen-proxy inside another) is not
 * added twice.
 */
export function appendRequire(existing: string | undefined, file: string): string {
  const option = `--require ${quoteNodeOption(file)}`;
  const current = (existing ?? '').trim();
  if (current === '') return option;
  if (current.includes(file) || current.includes(quoteNodeOption(file))) return current;
  return `${current} ${option}`;
}

export function quoteNodeOption(value: string): string {
  if (!/[\s"'\\]/.test(value)) return value;
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
