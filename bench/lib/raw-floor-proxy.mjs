// A reference point, not a product: the least a Node proxy can do per tunnel and per request here.
// Raw node:net on both sides, no node:http: CONNECT is read as a bare request line (no header
// checks), absolute-form GETs are rewritten to origin-form and sent on one upstream connection per
// client connection, answers framed by Content-Length only. No policy, no logging, no limits.
// Measured with `BARE_SCRIPT=bench/lib/raw-floor-proxy.mjs node bench/profile.mjs <m> --proxy bare`
// (README, Benchmark). Run as a child: prints "listening <port>".
import net from 'node:net';

const HEAD_END = Buffer.from('\r\n\r\n');

function tunnel(client, head, rest) {
  const authority = head.slice(8, head.indexOf(' ', 8));
  const colon = authority.lastIndexOf(':');
  const upstream = net.connect({ host: authority.slice(0, colon), port: Number(authority.slice(colon + 1)), noDelay: true }, () => {
    client.write('HTTP/1.1 200 Connection established\r\n\r\n');
    if (rest !== null) upstream.write(rest);
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  });
  const both = () => {
    client.destroy();
    upstream.destroy();
  };
  upstream.on('error', both);
  client.on('error', both);
  upstream.on('close', both);
  client.on('close', both);
}

/** One upstream connection per client connection; answers relayed whole, in order. */
function forwarder(client) {
  let upstream = null;
  let buffered = null;
  let headLength = -1;
  let total = -1;
  const onAnswer = (chunk) => {
    buffered = buffered === null ? chunk : Buffer.concat([buffered, chunk]);
    while (buffered !== null) {
      if (headLength < 0) {
        const end = buffered.indexOf(HEAD_END);
        if (end === -1) return;
        headLength = end + 4;
        const length = /\r\ncontent-length:\s*(\d+)/i.exec(buffered.toString('latin1', 0, end));
        total = headLength + (length ? Number(length[1]) : 0);
      }
      if (buffered.length < total) return;
      client.write(buffered.subarray(0, total));
      buffered = buffered.length > total ? buffered.subarray(total) : null;
      headLength = -1;
    }
  };
  return (head) => {
    const space = head.indexOf(' ');
    const space2 = head.indexOf(' ', space + 1);
    const url = head.slice(space + 1, space2);
    const hostStart = url.indexOf('//') + 2;
    const pathStart = url.indexOf('/', hostStart);
    if (upstream === null) {
      const hostPort = url.slice(hostStart, pathStart);
      const colon = hostPort.lastIndexOf(':');
      upstream = net.connect({ host: hostPort.slice(0, colon), port: Number(hostPort.slice(colon + 1)), noDelay: true });
      upstream.on('data', onAnswer);
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
    }
    upstream.write(`${head.slice(0, space + 1)}${url.slice(pathStart)}${head.slice(space2)}\r\n\r\n`);
  };
}

const server = net.createServer({ noDelay: true }, (client) => {
  let buffered = null;
  let forward = null;
  const onData = (chunk) => {
    buffered = buffered === null ? chunk : Buffer.concat([buffered, chunk]);
    while (buffered !== null) {
      const end = buffered.indexOf(HEAD_END);
      if (end === -1) return;
      const head = buffered.toString('latin1', 0, end);
      const rest = buffered.length > end + 4 ? buffered.subarray(end + 4) : null;
      buffered = rest;
      if (head.startsWith('CONNECT ')) {
        client.off('data', onData);
        client.pause();
        tunnel(client, head, rest);
        return;
      }
      forward ??= forwarder(client);
      forward(head);
    }
  };
  client.on('data', onData);
  client.on('error', () => client.destroy());
});
process.on('SIGINT', () => process.exit(0)); // lets --cpu-prof write its profile
server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
