import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect as netConnect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createProxy, type KaizenProxy } from '../../../src/app/create-proxy.js';
import { loadConfig } from '../../../src/config/load.js';
import { createLogger } from '../../../src/observe/logger.js';
import { openTunnel } from '../intercept/tunnel-client.js';

/**
 * kaizen_proxy_active_tunnels through the whole proxy: a tunnel (a CONNECT after its 200, a spliced
 * upgrade) counts while it is open and no longer once closed, whatever else was decided on its way
 * (an SNI naming another host, allowed by tls.sni_mismatch: allow, is a second decision, not a
 * second tunnel); refused and failed tunnels never count.
 */
let proxy: KaizenProxy | undefined;
let origin: Server;
const received: Socket[] = [];
let gotBytes: (() => void) | null = null;

beforeAll(async () => {
  origin = createServer((socket) => {
    received.push(socket);
    socket.on('error', () => undefined);
    socket.once('data', (chunk: Buffer) => {
      // An upgrade request is answered 101 (a WebSocket handshake, as far as the proxy can tell).
      if (chunk.toString('latin1').includes('\r\nUpgrade: websocket')) socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
      gotBytes?.();
    });
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
});

afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  for (const socket of received.splice(0)) socket.destroy();
});

afterAll(() => {
  origin.close();
});

async function start(): Promise<{ port: number; admin: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'kzp-tunnels-'));
  const file = join(dir, 'kaizen-proxy.yaml');
  writeFileSync(file, ['admin: 127.0.0.1:0', 'network: { allow_private: [127.0.0.0/8] }', 'tls: { sni_mismatch: allow }'].join('\n'));
  const loaded = loadConfig({ env: {}, flags: { config: file, listen: '127.0.0.1:0' } });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  proxy = await createProxy(loaded.config, { logger: createLogger({ level: 'silent' }) });
  const admin = proxy.admin;
  if (admin === null) throw new Error('admin listener expected');
  return { port: proxy.address.port, admin: admin.port };
}

function activeTunnels(adminPort: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: adminPort, path: '/metrics' }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        const found = /^kaizen_proxy_active_tunnels (\d+)$/m.exec(body);
        if (found === null) reject(new Error('no kaizen_proxy_active_tunnels in /metrics'));
        else resolve(Number(found[1]));
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** Until the gauge reads `value` (the proxy sees a close a few turns after the client's), bounded. */
async function settlesAt(adminPort: number, value: number): Promise<number> {
  let now = await activeTunnels(adminPort);
  for (let attempt = 0; attempt < 500 && now !== value; attempt++) now = await activeTunnels(adminPort);
  return now;
}

describe('kaizen_proxy_active_tunnels', () => {
  it('counts an open tunnel once, also when its SNI named another host and was allowed, and none once closed', async () => {
    const { port, admin } = await start();
    const originPort = (origin.address() as AddressInfo).port;
    const socket = await openTunnel(port, `127.0.0.1:${originPort}`);
    const forwarded = new Promise<void>((resolve) => (gotBytes = resolve));
    // A real ClientHello naming localhost, not the CONNECT host: decided on its own, then forwarded.
    const tls = tlsConnect({ socket, servername: 'localhost', rejectUnauthorized: false });
    tls.on('error', () => undefined);
    await forwarded;
    expect(await activeTunnels(admin)).toBe(1);
    tls.destroy();
    socket.destroy();
    expect(await settlesAt(admin, 0)).toBe(0);
  });

  it('counts a spliced upgrade while it is open', async () => {
    const { port, admin } = await start();
    const originPort = (origin.address() as AddressInfo).port;
    const socket = netConnect({ host: '127.0.0.1', port });
    socket.on('error', () => undefined);
    socket.write(`GET http://127.0.0.1:${originPort}/chat HTTP/1.1\r\nHost: 127.0.0.1:${originPort}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n`);
    const answer = await new Promise<string>((resolve) => socket.once('data', (chunk: Buffer) => { resolve(chunk.toString('latin1')); }));
    expect(answer).toMatch(/^HTTP\/1\.1 101 /);
    expect(await activeTunnels(admin)).toBe(1);
    socket.destroy();
    expect(await settlesAt(admin, 0)).toBe(0);
  });

  it('never counts a refused tunnel or one whose destination could not be reached', async () => {
    const { port, admin } = await start();
    await expect(openTunnel(port, '169.254.169.254:443')).rejects.toThrow(/CONNECT answered HTTP\/1\.1 403 /);
    const closedPort = await new Promise<number>((resolve) => {
      const probe = createServer();
      probe.listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as AddressInfo;
        probe.close(() => {
          resolve(free);
        });
      });
    });
    await expect(openTunnel(port, `127.0.0.1:${closedPort}`)).rejects.toThrow(/CONNECT answered HTTP\/1\.1 502 /);
    expect(await activeTunnels(admin)).toBe(0);
  });
});
