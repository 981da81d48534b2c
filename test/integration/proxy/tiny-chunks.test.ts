import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenClosable, type ClosableServer } from '../../helpers/closable-server.js';
import { startOrigin, streamedBytes, type Origin } from '../../helpers/origins.js';
import { countSyscalls } from '../../helpers/syscall-count.js';
import { spawnProxy, type ProxyProcess } from '../resilience/proxy-process.js';

// A chunked body of tiny chunks, either way, on the direct path: the chunks one read brings are
// relayed in one write (chunk boundaries are hop-by-hop), not one write each, so one client
// sending or fetching a body of 1-byte chunks cannot hold the event loop for everyone else. The
// proxy runs as a process of its own under `strace -c`, which counts its writes; the bytes must
// still arrive whole, the trailers with them.

const run = promisify(execFile);

const CHUNKS = 100_000;
/** Far below one write per chunk: a handful per read of the 600 KB of framing. */
const MAX_WRITES = 5_000;
const BODY = streamedBytes(CHUNKS);
const SHA256 = createHash('sha256').update(BODY).digest('hex');

/** BODY as CHUNKS one-byte chunks, then the last chunk with `trailer`. */
function tinyChunked(trailer: string): Buffer {
  const framed = Buffer.allocUnsafe(CHUNKS * 6);
  for (let i = 0; i < CHUNKS; i++) {
    framed.write('1\r\n', i * 6, 'latin1');
    framed[i * 6 + 3] = BODY[i] ?? 0;
    framed.write('\r\n', i * 6 + 4, 'latin1');
  }
  return Buffer.concat([framed, Buffer.from(`0\r\n${trailer}\r\n\r\n`, 'latin1')]);
}

/**
 * A raw-socket client through the proxy. `up URL`: POSTs a body of N one-byte chunks (sent whole
 * with sendall), byte i being i % 251, with a trailer. `down URL`: GETs the URL. Reads the answer
 * to the proxy's close and prints its status, its decoded body's size and sha256, how many chunks
 * it came in, and its trailers.
 */
const CLIENT = `import hashlib, json, socket, sys
mode, port, url, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
sock = socket.create_connection(('127.0.0.1', port), timeout=20)
if mode == 'up':
    body = b''.join(b'1\\r\\n' + bytes([i % 251]) + b'\\r\\n' for i in range(n)) + b'0\\r\\nX-Request-Checksum: r1\\r\\n\\r\\n'
    sock.sendall(b'POST ' + url.encode() + b' HTTP/1.1\\r\\nHost: origin\\r\\nTransfer-Encoding: chunked\\r\\nConnection: close\\r\\n\\r\\n' + body)
else:
    sock.sendall(b'GET ' + url.encode() + b' HTTP/1.1\\r\\nHost: origin\\r\\nConnection: close\\r\\n\\r\\n')
data = b''
while True:
    got = sock.recv(65536)
    if not got:
        break
    data += got
head, _, rest = data.partition(b'\\r\\n\\r\\n')
lines = head.decode('latin1').split('\\r\\n')
headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(':') for line in lines[1:])}
body, chunks, trailers = b'', 0, {}
if headers.get('transfer-encoding') == 'chunked':
    while True:
        size_line, _, rest = rest.partition(b'\\r\\n')
        size = int(size_line.split(b';')[0], 16)
        if size == 0:
            section, _, _ = rest.partition(b'\\r\\n\\r\\n')
            for line in section.decode('latin1').split('\\r\\n'):
                if line:
                    k, _, v = line.partition(':')
                    trailers[k.strip().lower()] = v.strip()
            break
        body += rest[:size]
        rest = rest[size + 2:]
        chunks += 1
else:
    body = rest
print(json.dumps({'status': int(lines[0].split()[1]), 'bytes': len(body), 'sha256': hashlib.sha256(body).hexdigest(), 'body': body.decode('latin1') if len(body) < 1000 else None, 'chunks': chunks, 'trailers': trailers}))
`;

async function client(mode: 'up' | 'down', port: number, url: string): Promise<Record<string, unknown>> {
  const { stdout } = await run('python3', ['-c', CLIENT, mode, String(port), url, String(CHUNKS)], { maxBuffer: 1024 * 1024 });
  return JSON.parse(stdout) as Record<string, unknown>;
}

/** A raw origin that answers every request with BODY in CHUNKS one-byte chunks and a trailer, all in one write. */
async function startTinyChunkOrigin(): Promise<ClosableServer> {
  const answer = Buffer.concat([
    Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n', 'latin1'),
    tinyChunked(`X-Checksum: ${SHA256}`),
  ]);
  const server: Server = createServer((socket) => {
    socket.on('error', () => undefined);
    let head = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      head += chunk;
      if (!head.includes('\r\n\r\n')) return;
      head = '';
      socket.write(answer);
    });
  });
  return listenClosable(server);
}

describe('a body of tiny chunks on the direct path', () => {
  let origin: Origin;
  let tiny: ClosableServer;
  let proxy: ProxyProcess;

  beforeAll(async () => {
    [origin, tiny] = await Promise.all([startOrigin(), startTinyChunkOrigin()]);
    proxy = await spawnProxy({ yaml: ['listen: 127.0.0.1:0', 'admin: off', 'network: { allow_private: [127.0.0.0/8] }'].join('\n') });
  });

  afterAll(async () => {
    await proxy.stop();
    await Promise.all([origin.close(), tiny.close()]);
  });

  it(`uploads ${CHUNKS} one-byte chunks whole, trailers included, in far fewer writes than chunks`, async () => {
    const trace = await countSyscalls(proxy.child.pid ?? 0, ['write', 'writev']);
    const result = await client('up', proxy.port, `${origin.url}/sha256`);
    const calls = await trace.stop();
    expect(result).toMatchObject({ status: 200, body: JSON.stringify({ bytes: CHUNKS, sha256: SHA256 }) });
    expect(origin.requests.at(-1)?.trailers).toEqual({ 'x-request-checksum': 'r1' });
    expect((calls['write'] ?? 0) + (calls['writev'] ?? 0)).toBeLessThan(MAX_WRITES);
  }, 60_000);

  it(`downloads ${CHUNKS} one-byte chunks whole, trailers included, in far fewer writes than chunks`, async () => {
    const trace = await countSyscalls(proxy.child.pid ?? 0, ['write', 'writev']);
    const result = await client('down', proxy.port, `${tiny.url}/tiny`);
    const calls = await trace.stop();
    expect(result).toMatchObject({ status: 200, bytes: CHUNKS, sha256: SHA256, trailers: { 'x-checksum': SHA256 } });
    expect(result['chunks']).toBeLessThan(MAX_WRITES);
    expect((calls['write'] ?? 0) + (calls['writev'] ?? 0)).toBeLessThan(MAX_WRITES);
  }, 60_000);
});
