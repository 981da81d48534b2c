/** Writes text to the wrapper's stderr; never throws. */
export type StderrWriter = (text: string) => void;

/**
 * The wrapper's stderr as a writer that goes quiet once the stream fails. A closed reader (`2>
 * >(head -c 20)`, a log shipper that went away) makes the next write fail with EPIPE; without an
 * `error` listener that is an uncaught exception, and the wrapper would die mid-run, leaving its
 * child without a proxy and its exit code lost. Notices are what is given up, never the child.
 */
export function stderrWriter(stream: NodeJS.WritableStream & { readonly destroyed: boolean }): StderrWriter {
  let broken = false;
  stream.on('error', () => {
    broken = true;
  });
  return (text) => {
    if (broken || stream.destroyed) return;
    try {
      stream.write(text);
    } catch {
      broken = true;
    }
  };
}
