import { ServerResponse, type OutgoingHttpHeader, type OutgoingHttpHeaders } from 'node:http';
import { admittedContext } from './connection-registry.js';

type HeadFields = OutgoingHttpHeaders | OutgoingHttpHeader[];

/** node:http's own mark, set as the head is stored: this response ends the connection. */
type LastResponse = ServerResponse & { _last?: boolean };

/**
 * node:http's response on the proxy's listeners (its `ServerResponse` option). A head that ends
 * the connection (`Connection: close`: a refusal of a body still arriving, a closing proxy, a
 * client that asked for it) makes it the last answer on it, and RFC 9112 §9.6 has a server process
 * no request after it. node:http never writes the responses queued behind such an answer, but it
 * hands the pipelined requests over all the same, and each would be decided and sent to its
 * destination for nothing. So the connection learns of it here, as the head is written, whoever
 * writes it: the requests relayed behind it are abandoned and the ones held or still to come are
 * not relayed (request-pipeline.ts, http-forward.ts).
 */
export class ClosingAwareResponse extends ServerResponse {
  override writeHead(statusCode: number, reasonOrFields?: string | HeadFields, fields?: HeadFields): this {
    if (typeof reasonOrFields === 'string') super.writeHead(statusCode, reasonOrFields, fields);
    else super.writeHead(statusCode, reasonOrFields ?? fields);
    if ((this as LastResponse)._last === true) {
      const conn = admittedContext(this.req.socket);
      if (conn !== null) {
        conn.closing = true;
        conn.pipeline?.cancelBehind(this);
      }
    }
    return this;
  }
}
