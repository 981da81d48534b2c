import type { Dispatcher } from 'undici';

/**
 * Requests to the control plane, at most `slots` inside undici at once, each given up at its own
 * abort signal. undici honours an abort only once a request reaches a connection: one queued in
 * the pool, or behind a connection still being made (a control plane that never accepts, a name
 * that does not resolve), waited out a whole connect timeout per round of `connections`, so with
 * hundreds of distinct actions in flight clients were answered many deadlines late, and the pool's
 * queue grew with every new action. Here a request waits for a slot in a queue of our own, which
 * it leaves at its signal, and the caller is answered at its signal whatever undici still does.
 * A slot is held until undici is done with the request: its body closed, or its error.
 */
export interface RequestSlots {
  /** Rejects with the signal's reason once it aborts, whether the request waited or was in flight. */
  request(options: Dispatcher.RequestOptions, signal: AbortSignal): Promise<Dispatcher.ResponseData>;
}

interface Waiter {
  readonly start: () => void;
}

/** What a request given up at its signal rejects with: the signal's reason (an AbortError). */
function reasonOf(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}

const asError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)));

export function createRequestSlots(dispatcher: Dispatcher, slots: number): RequestSlots {
  let busy = 0;
  const queue: Waiter[] = [];

  function release(): void {
    busy -= 1;
    const next = queue.shift();
    next?.start();
  }

  function dispatch(options: Dispatcher.RequestOptions, signal: AbortSignal): Promise<Dispatcher.ResponseData> {
    busy += 1;
    let released = false;
    const releaseOnce = (): void => {
      if (released) return;
      released = true;
      release();
    };
    return new Promise((resolve, reject) => {
      let settled = false;
      const onAbort = (): void => {
        if (settled) return;
        settled = true;
        reject(reasonOf(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      dispatcher.request({ ...options, signal }).then(
        (response) => {
          response.body.once('close', releaseOnce);
          if (response.body.destroyed) releaseOnce();
          signal.removeEventListener('abort', onAbort);
          if (settled) {
            // The caller has gone: nobody reads this answer, so its connection is given up.
            response.body.destroy();
            return;
          }
          settled = true;
          resolve(response);
        },
        (error: unknown) => {
          releaseOnce();
          signal.removeEventListener('abort', onAbort);
          if (settled) return;
          settled = true;
          reject(asError(error));
        },
      );
    });
  }

  return {
    request(options, signal) {
      if (signal.aborted) return Promise.reject(reasonOf(signal));
      if (busy < slots) return dispatch(options, signal);
      return new Promise((resolve, reject) => {
        const waiter: Waiter = {
          start: () => {
            signal.removeEventListener('abort', onAbort);
            dispatch(options, signal).then(resolve, reject);
          },
        };
        const onAbort = (): void => {
          const at = queue.indexOf(waiter);
          if (at >= 0) queue.splice(at, 1);
          reject(reasonOf(signal));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        queue.push(waiter);
      });
    },
  };
}
