import { execFileSync } from 'node:child_process';
import { constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A FIFO (mkfifo) to give a child as stdout: what Docker and containerd give a container. */
export interface Fifo {
  /** Its read end, as a readable stream (flowing once a 'data' listener is added). */
  readonly reader: Socket;
  /** Its write end, for spawn's stdio; close it here once the child has it. */
  readonly writeFd: number;
  /** Destroys the reader and removes the FIFO. */
  remove(): void;
}

export function makeFifo(): Fifo {
  const dir = mkdtempSync(join(tmpdir(), 'kzp-fifo-'));
  const path = join(dir, 'stdout');
  execFileSync('mkfifo', [path]);
  // The read end first (non-blocking, so this open does not wait for a writer), then the write end.
  const reader = new Socket({ fd: openSync(path, constants.O_RDONLY | constants.O_NONBLOCK), readable: true, writable: false });
  const writeFd = openSync(path, 'w');
  return {
    reader,
    writeFd,
    remove() {
      reader.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
