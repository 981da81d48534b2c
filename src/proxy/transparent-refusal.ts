import type { Socket } from 'node:net';
import type { ConnectionContext } from './connection-registry.js';
import { reportRefused } from './exchange-events.js';
import type { ProxyContext } from './proxy-context.js';
import { sendTlsAlert, TLS_ALERT } from './tls-alert.js';

/** Why a redirected connection's destination could not be recovered (a log field and metrics label). */
export type RedirectFailure = 'no_sni' | 'bad_sni' | 'malformed_tls' | 'unknown_protocol' | 'silent' | 'closed' | 'no_host' | 'bad_host';

/**
 * Refuse a redirected connection whose destination is unknown: logged with the reason (the
 * operator's only clue why an agent's connection failed), then closed, with a TLS alert when the
 * client speaks TLS.
 */
export function refuseRedirect(proxy: ProxyContext, conn: ConnectionContext, client: Socket, reason: RedirectFailure, detail: string): void {
  // A client that connects and leaves (a port probe) is worth a line, not a warning.
  const fields = { code: 'KZP_ERR_TRANSPARENT_DESTINATION', reason, detail };
  if (reason === 'closed') conn.log.info(fields, 'refused');
  else conn.log.warn(fields, 'refused');
  reportRefused(proxy.observer, 'KZP_ERR_TRANSPARENT_DESTINATION', reason);
  if (reason === 'no_sni' || reason === 'bad_sni' || reason === 'malformed_tls') {
    sendTlsAlert(client, TLS_ALERT.unrecognizedName);
  } else if (reason === 'closed') {
    client.destroy();
  } else {
    client.end();
    client.resume();
    client.setTimeout(5_000, () => client.destroy());
  }
}
