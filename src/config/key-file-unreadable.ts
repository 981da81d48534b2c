/**
 * A Kaizen API key pasted where a file's path belongs (`api_key_file: kz_live_...`, `--config
 * kz_live_...`): the shape of the control plane's keys, with no directory in it. Such a value cannot
 * be read as a file.
 */
const LOOKS_LIKE_A_KEY = /^kz_[A-Za-z0-9_-]{8,}$/i;

/** Whether a value named as a file (api_key_file, --config) is an API key pasted in its place. */
export function looksLikeApiKey(value: string): boolean {
  return LOOKS_LIKE_A_KEY.test(value.trim());
}

/**
 * The message for a control_plane.api_key_file that cannot be read: it names the file, unless the
 * value is the key itself. That error goes to stderr at start and to the proxy's JSON log on a
 * reload, so it names the mistake instead of echoing the key into both.
 */
export function keyFileUnreadable(keyFile: string, reason: string): string {
  if (looksLikeApiKey(keyFile)) {
    return `cannot read the file it names (${reason}): the value looks like an API key (kz_...), not a path; put the key in a file and name that here, or set KAIZEN_API_KEY`;
  }
  return `cannot read ${keyFile} (${reason})`;
}
