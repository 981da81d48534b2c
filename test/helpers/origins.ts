import { createHash } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import type { TestCa } from './test-ca.js';

/** What an origin saw of one request: enough for tests to assert on exact delivery. */
export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly rawHeaders: readonly string[];
  readonly trailers: Readonly<Record<string, string | undefined>>;
  readonly bodyBytes: number;
  readonly sha256: string;
}

export interface Origin {
  readonly port: number;
  /** "http://127.0.0.1:PORT" or "https://127.0.0.1:PORT" ("http://[::1]:PORT" on ::1). */
  readonly url: string;
  /** TCP connections accepted so far (a blocked destination must see zero). */
  readonly connections: number;
  readonly requests: readonly SeenRequest[];
  close(): Promise<void>;
}

/**
 * A real origin on 127.0.0.1:0 (or `host`, e.g. ::1). Every request's body is read and hashed, then by path:
 * `/sha256` answers {bytes, sha256}; `/forge` answers with X-Kaizen-* headers of its own;
 * `/trailers` answers chunked with a trailer and echoes the request's trailers; `/continue`
 * echoes like the default; anything else echoes {method, url, headers}. Upgrade requests get
 * `101` (with a forged X-Kaizen-Decision header) and an echo of every byte after it.
 * `anyHeaderCount`: take any number of header lines (Node 24 answers 431 past 1,000 by default,
 * where Node 20 dropped the lines past them).
 */
export async function startOrigin(options: { readonly tls?: TestCa; readonly host?: string; readonly anyHeaderCount?: boolean } = {}): Promise<Origin> {
  const host = options.host ?? '127.0.0.1';
  const requests: SeenRequest[] = [];
  let connections = 0;
  const sockets = new Set<Socket>();
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const hash = createHash('sha256');
    let bodyBytes = 0;
    req.on('data', (chunk: Buffer) => {
      bodyBytes += chunk.length;
      hash.update(chunk);
    });
    req.on('end', () => {
      const seen: SeenRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        trailers: req.trailers,
        bodyBytes,
        sha256: hash.digest('hex'),
      };
      requests.push(seen);
      respond(seen, res);
    });
  };
  const server: Server = options.tls === undefined ? createHttpServer(handler) : createHttpsServer({ cert: options.tls.certPem, key: options.tls.keyPem }, handler);
  if (options.anyHeaderCount === true) server.maxHeadersCount = 0;
  server.on('connection', (socket: Socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, trailers: {}, bodyBytes: 0, sha256: '' });
    // The X-Kaizen-* line is a forgery the proxy must strip.
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nX-Kaizen-Decision: allow\r\nConnection: Upgrade\r\n\r\n');
    if (head.length > 0) socket.write(head);
    // A tunnel the proxy resets (a drain's cut, a client's reset carried across) ends here.
    socket.on('error', () => undefined);
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `${options.tls === undefined ? 'http' : 'https'}://${host.includes(':') ? `[${host}]` : host}:${port}`,
    get connections() {
      return connections;
    },
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}

function respond(seen: SeenRequest, res: ServerResponse): void {
  const path = seen.url.split('?')[0];
  if (path === '/sha256') {
    json(res, { bytes: seen.bodyBytes, sha256: seen.sha256 });
    return;
  }
  if (path === '/forge') {
    res.setHeader('X-Kaizen-Decision', 'allow');
    res.setHeader('X-Kaizen-Reason', 'forged by the origin');
    res.setHeader('X-Origin', 'kept');
    json(res, { forged: true });
    return;
  }
  if (path === '/status') {
    // A bodiless status (204, 304) or any other, with an ETag to show headers still cross.
    res.writeHead(Number(new URL(seen.url, 'http://origin').searchParams.get('code') ?? '200'), { ETag: '"v1"' });
    res.end();
    return;
  }
  if (path === '/stream') {
    streamPattern(res, Number(new URL(seen.url, 'http://origin').searchParams.get('bytes') ?? '0'));
    return;
  }
  if (path === '/trailers') {
    res.writeHead(200, { 'Content-Type': 'text/plain', Trailer: 'X-Checksum' });
    res.write(`request-trailer=${seen.trailers['x-request-checksum'] ?? 'none'};`);
    res.addTrailers({ 'X-Checksum': 'abc123' });
    res.end('done');
    return;
  }
  json(res, { method: seen.method, url: seen.url, headers: seen.headers });
}

/** The bytes /stream?bytes=N sends: a repeating 251-byte pattern (a prime, so chunk edges move). */
export function streamedBytes(length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = i % 251;
  return out;
}

/** Chunked (no Content-Length), written in 64 KiB pieces with backpressure. */
function streamPattern(res: ServerResponse, length: number): void {
  const body = streamedBytes(length);
  res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
  let offset = 0;
  const pump = (): void => {
    while (offset < body.length) {
      const piece = body.subarray(offset, offset + 64 * 1024);
      offset += piece.length;
      if (!res.write(piece)) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  pump();
}

function json(res: ServerResponse, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** A raw TCP origin: reads until the client's FIN, then answers `<bytes> <sha256>` and closes (half-close check). */
export interface TcpOrigin {
  readonly port: number;
  readonly connections: number;
  /** What the first connection sent, once its FIN came (or its connection ended without one: complete false). */
  readonly firstUpload: Promise<TcpUpload>;
  close(): Promise<void>;
}

export interface TcpUpload {
  readonly bytes: number;
  readonly sha256: string;
  /** The client's FIN came (a reset or destroy leaves it false). */
  readonly complete: boolean;
}

export interface TcpOriginOptions {
  /** A slow destination: reading starts `startAfterMs` after the connection, with `pauseMs` between reads. */
  readonly slow?: { readonly startAfterMs: number; readonly pauseMs: number };
}

export async function startTcpOrigin(options: TcpOriginOptions = {}): Promise<TcpOrigin> {
  let connections = 0;
  const sockets = new Set<Socket>();
  let uploaded: (upload: TcpUpload) => void = () => undefined;
  const firstUpload = new Promise<TcpUpload>((resolve) => {
    uploaded = resolve;
  });
  const slow = options.slow;
  const server = createNetServer({ allowHalfOpen: true }, (socket) => {
    connections++;
    sockets.add(socket);
    const hash = createHash('sha256');
    let bytes = 0;
    let complete = false;
    socket.on('close', () => {
      sockets.delete(socket);
      if (!complete) uploaded({ bytes, sha256: hash.digest('hex'), complete });
    });
    socket.on('error', () => undefined);
    const resume = (): void => {
      socket.resume();
    };
    if (slow !== undefined) {
      socket.pause();
      setTimeout(resume, slow.startAfterMs);
    }
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      hash.update(chunk);
      if (slow === undefined) return;
      socket.pause();
      setTimeout(resume, slow.pauseMs);
    });
    socket.on('end', () => {
      complete = true;
      const sha256 = hash.digest('hex');
      uploaded({ bytes, sha256, complete });
      socket.end(`${bytes} ${sha256}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get connections() {
      return connections;
    },
    firstUpload,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}
