import { createSocket, type Socket } from 'node:dgram';
import { isIPv4 } from 'node:net';
import { randomInt } from 'node:crypto';

/**
 * What a name answers now. `records`: an answer with the addresses of its family (an empty list,
 * or a family left out, is NOERROR with no answer: NODATA; `silent`: that family's queries are
 * dropped, as by a server or firewall that drops AAAA); `nxdomain`: no such name (RCODE 3);
 * `servfail`: the server cannot answer (RCODE 2); `silent`: the query is dropped (the resolver
 * times out). A name never set is NXDOMAIN.
 */
export type ZoneAnswer =
  | { readonly records: { readonly a?: readonly string[] | 'silent'; readonly aaaa?: readonly string[] | 'silent' } }
  | 'nxdomain'
  | 'servfail'
  | 'silent';

export interface SeenQuery {
  readonly name: string;
  /** 1 (A), 28 (AAAA), or whatever the resolver asked. */
  readonly type: number;
}

/**
 * A real DNS server over UDP on a loopback address of its own (127.53.x.y, port 53, where a
 * resolv.conf can point: glibc takes no port), answering from a zone the test changes as it goes.
 * Enough of RFC 1035 for getaddrinfo and c-ares: one question per query, A and AAAA answers.
 */
export interface DnsServer {
  readonly address: string;
  readonly queries: readonly SeenQuery[];
  set(name: string, answer: ZoneAnswer): void;
  /** Resolves once a query for `name` arrives, counting only queries after the `after`-th. */
  waitForQuery(name: string, after: number): Promise<SeenQuery>;
  /** Stops answering: the port closes, so queries are refused (the resolver is down). Idempotent. */
  close(): Promise<void>;
}

const TYPE_A = 1;
const TYPE_AAAA = 28;

export async function startDnsServer(): Promise<DnsServer> {
  const zone = new Map<string, ZoneAnswer>();
  const queries: SeenQuery[] = [];
  const waiters = new Set<() => void>();
  const socket = await bindLoopback53();
  let closing: Promise<void> | undefined;
  socket.on('message', (message, peer) => {
    const query = parseQuery(message);
    if (query === undefined) return;
    queries.push({ name: query.name, type: query.type });
    for (const wake of waiters) wake();
    const answer = zone.get(query.name) ?? 'nxdomain';
    if (answer === 'silent' || familyOf(answer, query.type) === 'silent') return;
    socket.send(reply(message, query, answer), peer.port, peer.address);
  });
  return {
    address: socket.address().address,
    queries,
    set(name, answer) {
      zone.set(name.toLowerCase(), answer);
    },
    waitForQuery(name, after) {
      return new Promise((resolve) => {
        const check = (): void => {
          const found = queries.slice(after).find((query) => query.name === name);
          if (found === undefined) return;
          waiters.delete(check);
          resolve(found);
        };
        waiters.add(check);
        check();
      });
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        socket.close(() => {
          resolve();
        });
      });
      return closing;
    },
  };
}

/** Port 53 on a random 127.53.0.0/16 address, so that runs in parallel do not collide. */
async function bindLoopback53(): Promise<Socket> {
  for (let attempt = 0; ; attempt++) {
    const address = `127.53.${randomInt(0, 256)}.${randomInt(1, 255)}`;
    const socket = createSocket('udp4');
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(53, address, () => {
          socket.off('error', reject);
          resolve();
        });
      });
      return socket;
    } catch (error) {
      socket.close();
      if (attempt >= 20) throw error;
    }
  }
}

interface Query {
  readonly name: string;
  readonly type: number;
  /** Where the question ends (the answer echoes the question up to here). */
  readonly end: number;
}

function parseQuery(message: Buffer): Query | undefined {
  if (message.length < 12 || message.readUInt16BE(4) !== 1) return undefined;
  const labels: string[] = [];
  let at = 12;
  for (;;) {
    const length = message[at];
    if (length === undefined || length > 63) return undefined;
    at += 1;
    if (length === 0) break;
    labels.push(message.toString('latin1', at, at + length).toLowerCase());
    at += length;
  }
  if (at + 4 > message.length) return undefined;
  return { name: labels.join('.'), type: message.readUInt16BE(at), end: at + 4 };
}

function reply(message: Buffer, query: Query, answer: Exclude<ZoneAnswer, 'silent'>): Buffer {
  const rcode = answer === 'nxdomain' ? 3 : answer === 'servfail' ? 2 : 0;
  const family = familyOf(answer, query.type);
  const addresses = family === undefined || family === 'silent' ? [] : family;
  const header = Buffer.alloc(12);
  header.writeUInt16BE(message.readUInt16BE(0), 0); // id
  // QR, AA, the query's RD, RA; the RCODE.
  header.writeUInt16BE(0x8400 | (message.readUInt16BE(2) & 0x0100) | 0x0080 | rcode, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(addresses.length, 6);
  const records = addresses.map((address) => {
    const data = query.type === TYPE_A ? ipv4Bytes(address) : ipv6Bytes(address);
    const record = Buffer.alloc(12);
    record.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
    record.writeUInt16BE(query.type, 2);
    record.writeUInt16BE(1, 4); // IN
    record.writeUInt32BE(60, 6);
    record.writeUInt16BE(data.length, 10);
    return Buffer.concat([record, data]);
  });
  return Buffer.concat([header, message.subarray(12, query.end), ...records]);
}

/** What `answer` holds for a query of `type` (A or AAAA), when it is a records answer. */
function familyOf(answer: ZoneAnswer, type: number): readonly string[] | 'silent' | undefined {
  if (typeof answer !== 'object') return undefined;
  return type === TYPE_A ? answer.records.a : type === TYPE_AAAA ? answer.records.aaaa : undefined;
}

function ipv4Bytes(address: string): Buffer {
  if (!isIPv4(address)) throw new Error(`not an IPv4 address: ${address}`);
  return Buffer.from(address.split('.').map(Number));
}

function ipv6Bytes(address: string): Buffer {
  const [head = '', tail = ''] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = address.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  const bytes = Buffer.alloc(16);
  groups.forEach((group, index) => bytes.writeUInt16BE(parseInt(group, 16), index * 2));
  return bytes;
}
