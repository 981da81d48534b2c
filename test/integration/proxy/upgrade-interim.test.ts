import { request, type IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headOrigin, type HeadOrigin } from '../../helpers/head-origin.js';
import { RawClient } from '../../helpers/raw-client.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';

// A proxy forwards 1xx answers (RFC 9110 §15.2): a 102 Processing or 103 Early Hints the
// destination sends before its 101 (or its refusal) reaches the client of an upgrade, cleaned as
// any relayed head, and within the 16 KiB head budget before a 101 (interim-flood.test.ts checks
// the bound). Before, they were read and dropped.

const PROCESSING = 'HTTP/1.1 102 Processing\r\n\r\n';
const HINTS = 'HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\nConnection: X-Hop\r\nX-Hop: gone\r\nX-Kaizen-Decision: block\r\n\r\n';
const SWITCH = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n';

function upgradeRequest(url: string): string {
  return (
    `GET ${url} HTTP/1.1\r\nHost: ${new URL(url).host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'
  );
}

describe('interim answers to an upgrade', () => {
  let origin: HeadOrigin;
  let proxy: StartedProxy;

  beforeAll(async () => {
    origin = await headOrigin((socket, head) => {
      const path = head.split(' ')[1];
      if (path === '/switch') socket.write(`${PROCESSING}${HINTS}${SWITCH}frame`);
      else if (path === '/declined') socket.end(`${HINTS}HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\n\r\nnope`);
      else if (path === '/bare-lf') socket.write(`HTTP/1.1 103 Early Hints\r\nLink: </a.css>\nX-Kaizen-Decision: block\r\n\r\n${SWITCH}`);
    });
    proxy = await startProxy();
  });

  afterAll(async () => {
    await Promise.all([proxy.close(), origin.close()]);
  });

  const url = (path: string): string => `http://127.0.0.1:${String(origin.port)}${path}`;

  it('relays 102 and 103 before the 101, cleaned, and the tunnel counts neither', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(upgradeRequest(url('/switch')));
    expect(await client.readUntil('\r\n\r\n')).toBe(PROCESSING);
    expect(await client.readUntil('\r\n\r\n')).toBe('HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n');
    expect(await client.readUntil('\r\n\r\n')).toBe(SWITCH);
    expect(await client.readBytes(5)).toBe('frame');
    client.destroy();
    const closed = await proxy.logs.waitFor((line) => line.msg === 'closed' && line['kind'] === 'upgrade' && line['status'] === 101);
    expect(closed['bytes_down']).toBe('frame'.length);
  });

  it('reaches a Node client as information events, then its upgrade', async () => {
    const heard = await new Promise<{ statuses: number[]; hints: IncomingHttpHeaders[]; upgraded: number }>((resolve, reject) => {
      const statuses: number[] = [];
      const hints: IncomingHttpHeaders[] = [];
      const req = request({ host: '127.0.0.1', port: proxy.port, path: url('/switch'), headers: { Connection: 'Upgrade', Upgrade: 'websocket' } });
      req.on('information', (info) => {
        statuses.push(info.statusCode);
        if (info.statusCode === 103) hints.push(info.headers);
      });
      req.on('upgrade', (res, socket) => {
        socket.destroy();
        resolve({ statuses, hints, upgraded: res.statusCode ?? 0 });
      });
      req.on('response', (res) => {
        reject(new Error(`answered ${String(res.statusCode)}`));
      });
      req.on('error', reject);
      req.end();
    });
    expect(heard.statuses).toEqual([102, 103]);
    expect(heard.hints[0]).toEqual({ link: '</style.css>; rel=preload' });
    expect(heard.upgraded).toBe(101);
  });

  it('relays a 103 before a declined answer', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(upgradeRequest(url('/declined')));
    const reply = await client.readToEnd();
    expect(reply).toMatch(/^HTTP\/1\.1 103 Early Hints\r\nLink: <\/style\.css>; rel=preload\r\n\r\nHTTP\/1\.1 401 /);
    expect(reply.endsWith('\r\n\r\nnope')).toBe(true);
  });

  it('answers 502 KZP_ERR_UPSTREAM_PROTOCOL to an interim head with a bare LF, never relaying it', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(upgradeRequest(url('/bare-lf')));
    const reply = await client.readToEnd();
    expect(reply).toMatch(/^HTTP\/1\.1 502 /);
    expect(reply).toContain('X-Kaizen-Error: KZP_ERR_UPSTREAM_PROTOCOL');
    expect(reply).not.toContain('103');
  });
});
