/**
 * A second program for the `world` namespace (written to a file by the test, run by node): on the
 * address given, a DNS server on UDP and TCP port 53 and a UDP listener on each other port given,
 * which reports every datagram it gets. One JSON line per event on stdout.
 *
 * The zone: `small.test` (203.0.113.2) is answered over UDP; `big.test` (203.0.113.3) does not fit
 * (so it is said), so its UDP answer is truncated (TC set, no records) and resolvers ask again over
 * TCP, as they do for large answers: the agent's DNS then needs TCP port 53 too.
 */
export const WORLD_UDP_SOURCE = String.raw`
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
const [address, ...ports] = process.argv.slice(2);
const ZONE = { 'small.test': '203.0.113.2', 'big.test': '203.0.113.3' };
const TRUNCATED_OVER_UDP = new Set(['big.test']);
const say = (event) => process.stdout.write(JSON.stringify(event) + '\n');

// One question in, its answer out (an A record when the zone has one); null for what is no query.
function answer(query, transport, from) {
  if (query.length < 12 || query.readUInt16BE(4) !== 1) return null;
  const labels = [];
  let at = 12;
  while (query[at] > 0 && query[at] < 64) {
    labels.push(query.toString('latin1', at + 1, at + 1 + query[at]));
    at += 1 + query[at];
  }
  if (query[at] !== 0 || at + 5 > query.length) return null;
  const name = labels.join('.').toLowerCase();
  const type = query.readUInt16BE(at + 1);
  say({ event: 'dns', transport, name, from });
  const known = ZONE[name];
  const truncated = transport === 'udp' && TRUNCATED_OVER_UDP.has(name);
  const records = known !== undefined && type === 1 && !truncated ? [known] : [];
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.readUInt16BE(0), 0);
  // QR, AA, TC when truncated, the query's RD, RA; NXDOMAIN for a name not in the zone.
  header.writeUInt16BE(0x8400 | (truncated ? 0x0200 : 0) | (query.readUInt16BE(2) & 0x0100) | 0x0080 | (known === undefined ? 3 : 0), 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(records.length, 6);
  const answers = records.map((ip) => {
    const record = Buffer.alloc(16);
    record.writeUInt16BE(0xc00c, 0);
    record.writeUInt16BE(1, 2);
    record.writeUInt16BE(1, 4);
    record.writeUInt32BE(60, 6);
    record.writeUInt16BE(4, 10);
    ip.split('.').forEach((byte, index) => (record[12 + index] = Number(byte)));
    return record;
  });
  return Buffer.concat([header, query.subarray(12, at + 5), ...answers]);
}

let pending = 2 + ports.length;
const ready = () => { if (--pending === 0) say({ event: 'ready' }); };

const dnsUdp = createSocket('udp4');
dnsUdp.on('message', (message, peer) => {
  const reply = answer(message, 'udp', peer.address);
  if (reply !== null) dnsUdp.send(reply, peer.port, peer.address);
});
dnsUdp.bind(53, address, ready);

// DNS over TCP: each message behind its two-byte length.
createServer((socket) => {
  let buffered = Buffer.alloc(0);
  socket.on('error', () => {});
  socket.on('data', (chunk) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
      const reply = answer(buffered.subarray(2, 2 + buffered.readUInt16BE(0)), 'tcp', socket.remoteAddress);
      buffered = buffered.subarray(2 + buffered.readUInt16BE(0));
      if (reply === null) { socket.destroy(); return; }
      const length = Buffer.alloc(2);
      length.writeUInt16BE(reply.length, 0);
      socket.write(Buffer.concat([length, reply]));
    }
  });
}).listen(53, address, ready);

for (const port of ports.map(Number)) {
  const udp = createSocket('udp4');
  udp.on('message', (_message, peer) => say({ event: 'udp', port, from: peer.address }));
  udp.bind(port, address, ready);
}
`;
