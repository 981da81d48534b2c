import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OWNER_ONLY_FILE } from './owner-only.js';

/**
 * The ack cursor: everything before (segment, offset) has been acknowledged by the control plane.
 * Written beside the segments by rename, so it is always a whole old or a whole new value. Losing
 * the newest write costs a few duplicate replays, which the control plane drops by event_id.
 */
export interface AckCursor {
  readonly segment: number;
  readonly offset: number;
}

const FILE = 'ack';

export async function readAckCursor(dir: string): Promise<AckCursor | null> {
  let text: string;
  try {
    text = await readFile(join(dir, FILE), 'utf8');
  } catch {
    return null;
  }
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value !== 'object' || value === null) return null;
    const { segment, offset } = value as Record<string, unknown>;
    if (typeof segment !== 'number' || typeof offset !== 'number' || !Number.isSafeInteger(segment) || !Number.isSafeInteger(offset)) return null;
    return { segment, offset };
  } catch {
    return null;
  }
}

export async function writeAckCursor(dir: string, cursor: AckCursor): Promise<void> {
  const temp = join(dir, `${FILE}.tmp`);
  await writeFile(temp, JSON.stringify(cursor), { mode: OWNER_ONLY_FILE });
  await rename(temp, join(dir, FILE));
}
