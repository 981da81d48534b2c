/**
 * Keeps Node's inspector closed for the life of a long-running command (serve, wrap). Node 20 opens
 * an unauthenticated debugger on 127.0.0.1:9229 when it gets SIGUSR1, unless a listener for SIGUSR1
 * exists (--disable-sigusr1 came later). An agent running as the proxy's user (a wrapped command,
 * anything it leaves behind, or an agent beside `serve` on the same host) could send it and then run
 * code inside the process that enforces its policy. Wrap mode's supervise forwards SIGUSR1 to the
 * command while it runs; serve logs it (serve.ts); otherwise it is ignored.
 */
export function keepInspectorClosed(): void {
  process.on('SIGUSR1', ignore);
}

function ignore(): void {
  // Present to keep the inspector from starting; the signal itself means nothing here.
}
