/**
 * Keeps Node's inspector closed from the start of wrap mode to the exit. Node 20 opens an
 * unauthenticated debugger on 127.0.0.1:9229 when it gets SIGUSR1, unless a listener for SIGUSR1
 * exists (--disable-sigusr1 came later), and the wrapped command, or anything it leaves behind, can
 * send SIGUSR1 to its parent: it could then run code inside the process that enforces its policy.
 * supervise forwards SIGUSR1 to the command while it runs; before and after, it is ignored.
 */
export function keepInspectorClosed(): void {
  process.on('SIGUSR1', ignore);
}

function ignore(): void {
  // Present to keep the inspector from starting; the signal itself means nothing to the wrapper.
}
