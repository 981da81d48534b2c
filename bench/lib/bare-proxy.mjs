// A reference point, not a product: the barest node:http/net forward proxy (CONNECT → net.connect
// → pipe; absolute-form → http.request on a keep-alive Agent → pipe), no policy, no logging.
// `BENCH_BARE=1 node bench/run.mjs` adds it as a column, to separate what Node itself costs on
// this machine from what kaizen-proxy adds on top. Run as a child: prints "listening <port>".
import http from 'node:http';
import net from 'node:net';

const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 1024 });
const server = http.createServer({ noDelay: true }, (req, res) => {
  const url = new URL(req.url);
  const headers = { ...req.headers };
  delete headers['proxy-connection'];
  const up = http.request({ agent, host: url.hostname, port: url.port || 80, method: req.method, path: url.pathname + url.search, headers }, (ur) => {
    res.writeHead(ur.statusCode, ur.headers);
    ur.pipe(res);
  });
  up.on('error', () => res.destroy());
  req.pipe(up);
});
server.on('connect', (req, client, head) => {
  const i = req.url.lastIndexOf(':');
  const upstream = net.connect({ host: req.url.slice(0, i), port: Number(req.url.slice(i + 1)), noDelay: true }, () => {
    client.write('HTTP/1.1 200 Connection established\r\n\r\n');
    if (head.length > 0) upstream.write(head);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  const both = () => { client.destroy(); upstream.destroy(); };
  upstream.on('error', both);
  client.on('error', both);
  upstream.on('close', both);
  client.on('close', both);
});
process.on('SIGINT', () => process.exit(0)); // lets --cpu-prof write its profile
server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
