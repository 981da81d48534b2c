/**
 * The destinations' program, run by node inside the `world` namespace (written to a file by the
 * test): HTTP on :80 and HTTPS on :443 of every address given, and a UDP listener on :443 that
 * reports datagrams (QUIC must never arrive from the agent). One JSON line per event on stdout
 * (a connection, a request with its path without the query, a datagram).
 */
export const WORLD_ORIGIN_SOURCE = String.raw`
import { createServer as http } from 'node:http';
import { createServer as https } from 'node:https';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
const [certFile, keyFile, ...addresses] = process.argv.slice(2);
const tls = { cert: readFileSync(certFile), key: readFileSync(keyFile) };
const say = (event) => process.stdout.write(JSON.stringify(event) + '\n');
const answer = (scheme) => (req, res) => {
  say({ event: 'request', scheme, host: req.headers.host, path: req.url.split('?')[0] });
  res.end(JSON.stringify({ scheme, host: req.headers.host, path: req.url, local: req.socket.localAddress, from: req.socket.remoteAddress }) + '\n');
};
let pending = 0;
const ready = () => { if (--pending === 0) say({ event: 'ready' }); };
for (const address of addresses) {
  for (const [port, server] of [[80, http(answer('http'))], [443, https(tls, answer('https'))]]) {
    pending++;
    server.on('connection', (socket) => say({ event: 'connection', local: address + ':' + port, from: socket.remoteAddress }));
    server.listen(port, address, ready);
  }
  pending++;
  const udp = createSocket('udp4');
  udp.on('message', (_m, from) => say({ event: 'udp', local: address + ':443', from: from.address }));
  udp.bind(443, address, ready);
}
`;
