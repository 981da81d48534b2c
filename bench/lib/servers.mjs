// The destinations every path talks to, in one child process of their own: a byte sink and a
// byte source (throughput), an echo server (latency, connection rate, idle tunnels) and a tiny
// HTTP/1.1 origin (keep-alive requests). Raw node:net, so the servers cost next to nothing and
// the same origin serves the direct path, kaizen-proxy and Squid alike.
import net from 'node:net';

const HOST = '127.0.0.1';
const CHUNK = Buffer.alloc(64 * 1024, 0x61);
const BODY = 'hello, bench\n';
const RESPONSE = Buffer.from(
  `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${BODY.length}\r\nCache-Control: no-store\r\n\r\n${BODY}`,
);
const HEAD_END = Buffer.from('\r\n\r\n');

function quiet(socket) {
  socket.on('error', () => {});
}

/** First 8 bytes: big-endian byte count; then that many bytes; answer 'K' once all arrived. */
function sink(socket) {
  quiet(socket);
  let header = Buffer.alloc(0);
  let want = -1;
  let got = 0;
  socket.on('data', (chunk) => {
    if (want < 0) {
      header = Buffer.concat([header, chunk]);
      if (header.length < 8) return;
      want = Number(header.readBigUInt64BE(0));
      chunk = header.subarray(8);
    }
    got += chunk.length;
    if (got >= want && want >= 0) {
      socket.write('K');
      want = Infinity; // answer once
    }
  });
}

/** First 8 bytes: big-endian byte count; then send that many bytes, with backpressure. */
function source(socket) {
  quiet(socket);
  let header = Buffer.alloc(0);
  socket.on('data', function onData(chunk) {
    header = Buffer.concat([header, chunk]);
    if (header.length < 8) return;
    socket.removeListener('data', onData);
    let left = Number(header.readBigUInt64BE(0));
    const pump = () => {
      while (left > 0) {
        const piece = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
        left -= piece.length;
        if (!socket.write(piece)) {
          socket.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
}

function echo(socket) {
  quiet(socket);
  socket.setNoDelay(true);
  socket.on('data', (chunk) => socket.write(chunk));
  socket.on('end', () => socket.end());
}

/** Answers every request head (GET, no body) with the same small 200, keep-alive. */
function origin(socket) {
  quiet(socket);
  socket.setNoDelay(true);
  let pending = null;
  socket.on('data', (chunk) => {
    let buf = pending === null ? chunk : Buffer.concat([pending, chunk]);
    let end;
    let answers = 0;
    while ((end = buf.indexOf(HEAD_END)) !== -1) {
      answers++;
      buf = buf.subarray(end + 4);
    }
    pending = buf.length > 0 ? buf : null;
    if (answers === 1) socket.write(RESPONSE);
    else if (answers > 1) socket.write(Buffer.concat(Array(answers).fill(RESPONSE)));
  });
  socket.on('end', () => socket.end());
}

// Connections accepted per server: how often a proxy opens a new upstream connection tells
// whether it pools keep-alive sockets (asked for over IPC by the driver).
const accepted = { sink: 0, source: 0, echo: 0, origin: 0 };

function listen(name, handler) {
  return new Promise((resolve, reject) => {
    const server = net.createServer({ noDelay: true }, (socket) => {
      accepted[name]++;
      handler(socket);
    });
    server.once('error', reject);
    server.listen({ host: HOST, port: 0, backlog: 4096 }, () => resolve(server.address().port));
  });
}

const ports = {
  sink: await listen('sink', sink),
  source: await listen('source', source),
  echo: await listen('echo', echo),
  origin: await listen('origin', origin),
};
process.send({ type: 'ready', host: HOST, ports });
process.on('message', (msg) => {
  if (msg?.type === 'stats') process.send({ type: 'stats', id: msg.id, accepted: { ...accepted } });
});
process.on('disconnect', () => process.exit(0));
