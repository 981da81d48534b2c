// Client-side building blocks shared by every measurement: open a CONNECT tunnel (or, for the
// "direct" path, a plain TCP connection to the same target), and a 1-byte echo round trip.
import net from 'node:net';

const HEAD_END = Buffer.from('\r\n\r\n');

/**
 * A connected socket to `target` ({host, port}), through `via` ({host, port} of a proxy) or
 * directly when `via` is null. Resolves once the proxy answered 200; any bytes the proxy sent
 * after its head are unshifted back so the caller sees only tunnel payload.
 */
export function openTunnel(via, target) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: via ? via.host : target.host, port: via ? via.port : target.port });
    socket.setNoDelay(true);
    const fail = (err) => {
      socket.destroy();
      reject(err);
    };
    socket.once('error', fail);
    if (!via) {
      socket.once('connect', () => {
        socket.removeListener('error', fail);
        resolve(socket);
      });
      return;
    }
    const authority = `${target.host}:${target.port}`;
    socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
    let head = Buffer.alloc(0);
    const onData = (chunk) => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const end = head.indexOf(HEAD_END);
      if (end === -1) {
        if (head.length > 16384) fail(new Error('CONNECT answer head too large'));
        return;
      }
      socket.removeListener('data', onData);
      socket.removeListener('end', onEnd);
      const status = head.toString('latin1', 0, head.indexOf('\r\n'));
      if (!/^HTTP\/1\.[01] 200/.test(status)) {
        fail(new Error(`CONNECT ${authority}: ${status}`));
        return;
      }
      socket.pause();
      const rest = head.subarray(end + 4);
      if (rest.length > 0) socket.unshift(rest);
      socket.removeListener('error', fail);
      resolve(socket);
    };
    const onEnd = () => fail(new Error(`CONNECT ${authority}: closed before an answer`));
    socket.on('data', onData);
    socket.once('end', onEnd);
  });
}

const ONE = Buffer.from('x');

/** Send one byte, wait for it to come back. */
export function echoOnce(socket) {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      socket.removeListener('data', onData);
      socket.removeListener('error', onError);
      socket.removeListener('end', onEnd);
    };
    const onData = () => {
      cleanup();
      socket.pause();
      resolve();
    };
    const onError = (err) => {
      cleanup();
      reject(err);
    };
    const onEnd = () => onError(new Error('tunnel closed before the echo'));
    socket.on('data', onData);
    socket.once('error', onError);
    socket.once('end', onEnd);
    socket.resume();
    socket.write(ONE);
  });
}

/** New tunnel, 1-byte echo, close: the unit of the latency and connection-rate measurements. */
export async function tunnelEcho(via, target) {
  const socket = await openTunnel(via, target);
  try {
    await echoOnce(socket);
  } finally {
    socket.destroy();
  }
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}
