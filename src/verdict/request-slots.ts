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
 *
 * Live requests (verdicts an agent waits for, policy fetches) come first. Background ones (block
 * reports, spool replay) hold at most `backgroundSlots` of the slots at once and start only while
 * no live request waits: a burst of them while the control plane is slow took every slot, and the
 * verdicts behind it waited a whole answer in the queue, past their deadline. A freed slot goes
 * to the live request waiting longest, else to the background one waiting longest if the share
 * allows. A live request finds a free slot at once unless live ones alone hold the rest.
 */
export interface RequestSlots {
  /**
   * Rejects once the signal aborts: with the signal's reason when the request was in flight, with
   * a RequestNotSent (the reason its `cause`) when it was still waiting for a slot, never sent.
   */
  request(options: Dispatcher.RequestOptions, signal: AbortSignal, traffic?: Traffic): Promise<Dispatcher.ResponseData>;
}

/** Whom a request is for: an agent waiting on it (`live`, the default), or nobody (`background`). */
export type Traffic = 'live' | 'background';

interface Waiter {
  readonly start: () => void;
}

/** What a request given up at its signal rejects with: the signal's reason (an AbortError). */
function reasonOf(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}

/**
 * A request given up at its signal before it got a slot: nothing of it reached the control plane,
 * so its failure says so rather than that the control plane did not answer.
 */
export class RequestNotSent extends Error {
  constructor(cause: Error) {
    super('no free request slot before the signal', { cause });
    this.name = 'RequestNotSent';
  }
}

const asError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)));

export function createRequestSlots(dispatcher: Dispatcher, slots: number, backgroundSlots: number): RequestSlots {
  let busy = 0;
  let busyBackground = 0;
  const queues: Record<Traffic, Waiter[]> = { live: [], background: [] };

  const fits = (traffic: Traffic): boolean =>
    busy < slots && (traffic === 'live' || (busyBackground < backgroundSlots && queues.live.length === 0));

  function release(traffic: Traffic): void {
    busy -= 1;
    if (traffic === 'background') busyBackground -= 1;
    // One slot freed: a live request waiting takes it, else a background one if the share allows.
    const next = queues.live.length > 0 ? queues.live.shift() : fits('background') ? queues.background.shift() : undefined;
    next?.start();
  }

  function dispatch(options: Dispatcher.RequestOptions, signal: AbortSignal, traffic: Traffic): Promise<Dispatcher.ResponseData> {
    busy += 1;
    if (traffic === 'background') busyBackground += 1;
    let released = false;
    const releaseOnce = (): void => {
      if (released) return;
      released = true;
      release(traffic);
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
    request(options, signal, traffic = 'live') {
      if (signal.aborted) return Promise.reject(new RequestNotSent(reasonOf(signal)));
      if (fits(traffic)) return dispatch(options, signal, traffic);
      const queue = queues[traffic];
      return new Promise((resolve, reject) => {
        const waiter: Waiter = {
          start: () => {
            signal.removeEventListener('abort', onAbort);
            dispatch(options, signal, traffic).then(resolve, reject);
          },
        };
        const onAbort = (): void => {
          const at = queue.indexOf(waiter);
          if (at >= 0) queue.splice(at, 1);
          reject(new RequestNotSent(reasonOf(signal)));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        queue.push(waiter);
      });
    },
  };
}
