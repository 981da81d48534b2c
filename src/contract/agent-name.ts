/**
 * The agent name goes into the control plane's paths (/v1/agents/{agent}/manifest), where `.` and
 * `..` are path segments, not names: a client or a server normalising the path would send the
 * manifest elsewhere. Every place a name is read (flag, environment, file, gateway credentials)
 * refuses them.
 */
export function isDotSegment(name: string): boolean {
  return name === '.' || name === '..';
}

export const DOT_SEGMENT_EXPECTED = 'expected an agent name other than . or ..';
