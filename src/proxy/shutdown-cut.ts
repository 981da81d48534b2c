import type { ErrorCode } from '../errors/codes.js';
import type { ExchangeTally } from './exchange-log.js';
import type { Lifecycle } from './lifecycle.js';

/**
 * What an exchange's failure is logged as: `code` (the destination's failure, most often) while the
 * proxy runs or drains; KZP_ERR_SHUTDOWN once the drain has ended and cut what was left
 * (Lifecycle.cut), when the failure is the cut itself (a reset client, a destination connection
 * destroyed with the pool) and blaming the destination would make every deploy look like an outage.
 */
export function failureCode<C extends ErrorCode>(lifecycle: Lifecycle, code: C): C | 'KZP_ERR_SHUTDOWN' {
  return lifecycle.cut ? 'KZP_ERR_SHUTDOWN' : code;
}

/**
 * An exchange reported closed after the cut, unfinished and without a code of its own (a tunnel,
 * a request waiting for its verdict or its answer): KZP_ERR_SHUTDOWN. A code set before the cut
 * (a destination that failed during the drain, a refusal) is kept.
 */
export function markShutdownCut(lifecycle: Lifecycle, tally: ExchangeTally): void {
  if (tally.code === null && lifecycle.cut) tally.code = 'KZP_ERR_SHUTDOWN';
}

/**
 * A spliced tunnel a graceful close cut (socket-pipe.ts): at the drain's end, or in wrap mode's
 * stop once its upload was quiet, its download still coming. KZP_ERR_SHUTDOWN unless it had a code.
 * One not cut closed by itself, even when reported after the drain's end (reportClosed `finished`).
 */
export function markTunnelCut(tally: ExchangeTally, cut: boolean): void {
  if (cut && tally.code === null) tally.code = 'KZP_ERR_SHUTDOWN';
}
