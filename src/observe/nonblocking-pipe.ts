import { constants, fstatSync, openSync } from 'node:fs';

/**
 * A non-blocking write descriptor of the proxy's own for `fd` when `fd` is a pipe (a FIFO: what
 * Docker, containerd and so Kubernetes give a container as stdout), or null for anything else or
 * when it cannot be opened (no /proc).
 *
 * Why: a log batch written to a blocking pipe that its reader stopped draining (a container
 * runtime stuck on a full disk) holds a libuv thread-pool thread in write(2), and Node joins that
 * pool on exit: the proxy drained, logged "stopped", and then never exited. Written non-blocking,
 * a full pipe answers EAGAIN at once, and the writer knows how far each batch got.
 *
 * Why not O_NONBLOCK on fd itself (as node:net does when process.stdout is touched): the flag
 * belongs to the open file description, which the commands run by `kaizen-proxy -- CMD` share,
 * and a program that never expected EAGAIN on its stdout fails on it. Opening the pipe again
 * through /proc/self/fd makes a description of its own, with a flag of its own. Never a regular
 * file: a second description would write from offset 0, over what is there.
 */
export function nonBlockingPipe(fd: number): number | null {
  try {
    if (!fstatSync(fd).isFIFO()) return null;
    return openSync(`/proc/self/fd/${String(fd)}`, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch {
    return null;
  }
}
