import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { followChildLogLines, type ChildLogLines, type LogLine } from '../../helpers/child-log-lines.js';
import { AGENT_ADDRESS, asUid, createNetnsWorld, netnsSupport, proxyUidIn, WORLD_ADDRESSES, type NetnsWorld } from './netns-world.js';
import { WORLD_UDP_SOURCE } from './world-udp.js';

// The shipped iptables script applied with the settings transparent.yaml gives it (read from the
// manifest), in a network namespace made here, with the proxy as one UID and the agent as another:
// the agent's UDP is dropped but for DNS (port 53) and the ports an operator lists, UDP 443 even
// when listed, and its DNS over TCP reaches the resolver instead of the proxy's transparent port.

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = join(ROOT, 'dist/cli.js');
const SCRIPT = join(ROOT, 'config/iptables/kaizen-redirect.sh');
const MANIFEST = join(ROOT, 'config/kubernetes/transparent.yaml');
const AGENT_UID = '1000';
const RESOLVER = WORLD_ADDRESSES[0];
/** A port no rule names: what QUIC on another port, or any raw UDP, would use. */
const OTHER_PORT = 8443;
/** A port the operator lists in KAIZEN_UDP_ALLOW_PORTS. */
const LISTED_PORT = 9443;

const unsupported = await netnsSupport();

type Obj = Record<string, unknown>;
const obj = (value: unknown): Obj => (value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Obj) : {});
const list = (value: unknown): Obj[] => (Array.isArray(value) ? value.map(obj) : []);

/** The environment transparent.yaml gives its kaizen-proxy-init container (the redirect rules). */
function manifestRedirectEnv(): Record<string, string> {
  for (const doc of parseAllDocuments(readFileSync(MANIFEST, 'utf8'))) {
    const spec = obj(obj(obj(obj(doc.toJS()).spec).template).spec);
    const init = list(spec['initContainers']).find((container) => /^kaizen-proxy-init:/.test(String(container['image'])));
    if (init !== undefined) return Object.fromEntries(list(init['env']).map((e) => [String(e['name']), String(e['value'])]));
  }
  throw new Error('transparent.yaml has no kaizen-proxy-init container');
}

/** Sends one datagram to the resolver's address at the port in argv; prints the send's error code, or null. */
const SEND = "const s=require('dgram').createSocket('udp4');s.send('probe',Number(process.argv.at(-1)),'" + RESOLVER +
  "',(e)=>{process.stdout.write(JSON.stringify({error:e?e.code:null}));s.close();})";

/** Resolves both names through the world's resolver (c-ares: UDP, then TCP for a truncated answer); prints addresses or error codes. */
const RESOLVE = "const r=new (require('dns').promises.Resolver)({timeout:3000,tries:1});r.setServers(['" + RESOLVER + "']);" +
  "Promise.allSettled(['small.test','big.test'].map((n)=>r.resolve4(n))).then((o)=>process.stdout.write(JSON.stringify(o.map((x)=>x.status==='fulfilled'?x.value:x.reason.code))))";

describe('transparent mode UDP drop mode in network namespaces (transparent.yaml settings)', () => {
  let world: NetnsWorld;
  let dir: string;
  let proxyUid: string;
  let resolver: ChildProcess;
  let proxy: ChildProcess;
  let worldLines: ChildLogLines;
  let proxyLines: ChildLogLines;

  const nodeAs = async (uid: string, argv: readonly string[]): Promise<unknown> => {
    const result = await world.exec(world.agent, asUid(uid, [process.execPath, ...argv]));
    expect(result.stderr).toBe('');
    return JSON.parse(result.stdout) as unknown;
  };
  const sendAs = (uid: string, port: number) => nodeAs(uid, ['-e', SEND, String(port)]);
  const datagrams = (): LogLine[] => worldLines.lines.filter((line) => line['event'] === 'udp');

  beforeAll(async () => {
    if (unsupported !== null) throw new Error(`cannot run: ${unsupported}`);
    world = await createNetnsWorld(`u${process.pid % 10_000}`, {});
    dir = mkdtempSync(join(tmpdir(), 'kzp-netns-udp-'));
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, 'world-udp.mjs'), WORLD_UDP_SOURCE);
    resolver = world.spawn(world.world, [process.execPath, join(dir, 'world-udp.mjs'), RESOLVER, '443', String(OTHER_PORT), String(LISTED_PORT)]);
    worldLines = followChildLogLines(resolver, 15_000);
    await worldLines.waitFor((line) => line['event'] === 'ready');

    proxyUid = await proxyUidIn(world, CLI);
    const redirect = manifestRedirectEnv();
    // The manifest's settings, the UID this machine can run the proxy as, and ports an operator lists (443 among them).
    const env = { ...process.env, ...redirect, KAIZEN_PROXY_UID: proxyUid, KAIZEN_UDP_ALLOW_PORTS: `443,${LISTED_PORT}` };
    const rules = await world.exec(world.agent, ['sh', SCRIPT, 'apply'], { env });
    expect(rules, rules.stderr).toMatchObject({ code: 0 });

    proxy = world.spawn(world.agent, asUid(proxyUid, [process.execPath, CLI, 'serve',
      '--listen', '127.0.0.1:0', '--admin', 'off', '--transparent', `127.0.0.1:${redirect['KAIZEN_TRANSPARENT_PORT'] ?? ''}`]), { cwd: dir, env: { PATH: process.env['PATH'], HOME: dir } });
    proxyLines = followChildLogLines(proxy, 15_000);
    await proxyLines.waitFor((line) => line['msg'] === 'listening');
  });

  afterAll(async () => {
    proxy.kill('SIGTERM');
    resolver.kill('SIGTERM');
    await world.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it('installs a UDP chain that drops 443 first, lets 53 and the listed ports through, and drops the rest, in both families', async () => {
    for (const binary of ['iptables', 'ip6tables']) {
      const rules = (await world.exec(world.agent, [binary, '-S', 'KAIZEN_QUIC'])).stdout.trim().split('\n');
      const drop443 = rules.findIndex((rule) => rule.endsWith('--dport 443 -j DROP'));
      expect(drop443, binary).toBeGreaterThan(0);
      expect(rules.slice(drop443 + 1).join('\n'), binary).toMatch(/--dport 53 -j RETURN[\s\S]*--dport 9443 -j RETURN/);
      expect(rules.at(-1), binary).toBe('-A KAIZEN_QUIC -p udp -j DROP');
    }
  });

  it("drops the agent's UDP to any other port and to 443 even when listed, passes a listed port, and leaves the proxy's own UDP alone", async () => {
    expect(await sendAs(AGENT_UID, OTHER_PORT)).toEqual({ error: 'EPERM' });
    expect(await sendAs(AGENT_UID, 443)).toEqual({ error: 'EPERM' });
    expect(await sendAs(AGENT_UID, LISTED_PORT)).toEqual({ error: null });
    await worldLines.waitFor((line) => line['event'] === 'udp' && line['port'] === LISTED_PORT);
    expect(await sendAs(proxyUid, OTHER_PORT)).toEqual({ error: null });
    await worldLines.waitFor((line) => line['event'] === 'udp' && line['port'] === OTHER_PORT);
    // The agent's datagrams were sent first, on the same path: had they passed, they would be here.
    expect(datagrams()).toEqual([
      { event: 'udp', port: LISTED_PORT, from: AGENT_ADDRESS },
      { event: 'udp', port: OTHER_PORT, from: AGENT_ADDRESS },
    ]);
  });

  // Redirected, the TCP query would reach the proxy, which refuses it (unknown_protocol), never the resolver.
  it("lets the agent's DNS reach its resolver: over UDP 53, and over TCP 53 for a truncated answer, not redirected to the proxy", async () => {
    expect(await nodeAs(AGENT_UID, ['-e', RESOLVE])).toEqual([['203.0.113.2'], ['203.0.113.3']]);
    const queries = worldLines.lines.filter((line) => line['event'] === 'dns');
    expect(queries).toHaveLength(3);
    expect(queries).toEqual(expect.arrayContaining([
      { event: 'dns', transport: 'udp', name: 'small.test', from: AGENT_ADDRESS },
      { event: 'dns', transport: 'udp', name: 'big.test', from: AGENT_ADDRESS },
      { event: 'dns', transport: 'tcp', name: 'big.test', from: AGENT_ADDRESS },
    ]));
  });
});
