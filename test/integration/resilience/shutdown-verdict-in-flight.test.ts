import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import type { ProxyConfig } from '../../../src/config/types.js';
import { scanRecords } from '../../../src/verdict/spool/record-frame.js';
import { SEGMENT_MAGIC } from '../../../src/verdict/spool/segment-file.js';
import { useProxyFixture } from './proxy-fixture.js';
import { tempDataDir, viaProxy } from './resilience-support.js';

/**
 * A shutdown whose drain ends (its deadline, a second signal, drain_timeout: 0s) while a verdict
 * call is still waiting for a control plane that does not answer: the call fails at its own
 * deadline, after the drain, and its action must still reach the spool. The spool used to be
 * closed by then: the action was dropped ("spool closed: action not spooled"), and a control
 * plane that never got the call never heard of it.
 */
const TIMEOUT_MS = 1_500;
const fixture = useProxyFixture({ timeoutMs: TIMEOUT_MS });

/** Intact records in every spool segment under `dataDir`, read from the files as they are. */
async function recordsOnDisk(dataDir: string): Promise<string[]> {
  const records: string[] = [];
  for (const entry of await readdir(dataDir, { recursive: true })) {
    if (!entry.endsWith('.kzs')) continue;
    const buffer = await readFile(join(dataDir, entry));
    if (buffer.length <= SEGMENT_MAGIC.length) continue;
    for (const record of scanRecords(buffer, SEGMENT_MAGIC.length).records) records.push(record.payload.toString('utf8'));
  }
  return records;
}

describe('a verdict call still waiting when the drain ends', () => {
  it('spools its action before the proxy stops', async () => {
    const { cp, origin } = fixture;
    cp.routeWith('/v1/verdicts', { kind: 'hang' });
    const dataDir = tempDataDir();
    // The drain is over long before the verdict call's deadline.
    const running = await fixture.start({ dataDir }, { limits: { ...defaults().limits, drainTimeoutMs: 50 } });

    const answer = viaProxy(running.port, `${origin.url}/waiting-for-a-verdict`);
    await cp.waitForRequest((request) => request.path === '/v1/verdicts', 5_000);
    await running.proxy.close();

    expect((await answer).status).toBe(0);
    const spooled = await recordsOnDisk(dataDir);
    expect(spooled).toHaveLength(1);
    expect(spooled[0]).toContain('/waiting-for-a-verdict');
    expect(running.logs.lines()).not.toContainEqual(expect.objectContaining({ msg: 'spool closed: action not spooled' }));
  }, 20_000);

  it('sends no spool replay while it waits: the shutdown ends by the call deadline, not one more after it', async () => {
    // The spool's replay went on while the shutdown waited for the verdict calls, and the spool's
    // close then waited for a replay probe started in that wait: up to one more control_plane.timeout
    // (a proxy told to stop within drain_timeout + control_plane.timeout took 18 s for 12).
    const { cp, origin } = fixture;
    cp.routeWith('/v1/verdicts', { kind: 'hang' });
    const dataDir = tempDataDir();
    const running = await fixture.start({ dataDir }, { limits: { ...defaults().limits, drainTimeoutMs: 50 } });
    const verdictCalls = (): number => cp.requests.filter((request) => request.path === '/v1/verdicts').length;

    // Spooled at its deadline; the replay then probes after its first backoff (1 s), while...
    expect((await viaProxy(running.port, `${origin.url}/spooled-first`)).status).toBe(503);
    // ...this call, started after it, still waits for its own deadline (TIMEOUT_MS) when the proxy is told to stop.
    const answer = viaProxy(running.port, `${origin.url}/in-flight-at-stop`);
    await cp.waitForRequest((request) => request.path === '/v1/verdicts' && request.rawBody.includes('/in-flight-at-stop'), 5_000);
    const callsAtStop = verdictCalls();
    await running.proxy.close();

    expect((await answer).status).toBe(0);
    expect(verdictCalls()).toBe(callsAtStop);
    const spooled = await recordsOnDisk(dataDir);
    expect(spooled.filter((record) => record.includes('/spooled-first'))).toHaveLength(1);
    expect(spooled.filter((record) => record.includes('/in-flight-at-stop'))).toHaveLength(1);
  }, 20_000);
});

/** The default configuration, whose limits the test shortens one of. */
function defaults(): ProxyConfig {
  const loaded = loadConfig({ env: {}, defaultFile: '/nonexistent/kaizen-proxy.yaml' });
  if (!loaded.ok) throw new Error('default configuration failed to load');
  return loaded.config;
}
