import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeControlPlane, type FakeControlPlane } from '../../helpers/fake-control-plane.js';
import { OPEN_LOOPBACK, runWrapper } from './run-wrapper.js';
import { startWrapOrigin, type WrapOrigin } from './wrap-origin.js';

/**
 * The wrapper's control-plane key is the monitoring system's credential: the monitored command
 * does not inherit it (it could rewrite any agent's manifest with it), unless --pass-api-key says
 * that the command uses the Kaizen SDK itself.
 */
describe('wrap mode and KAIZEN_API_KEY', () => {
  const KEY = 'kz_test_wrapper_only';
  let dir: string;
  let origin: WrapOrigin;
  let cp: FakeControlPlane;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kzp-wrap-key-'));
    [origin, cp] = await Promise.all([startWrapOrigin(), startFakeControlPlane()]);
  });

  afterAll(async () => {
    await Promise.all([origin.close(), cp.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  /** The child prints its KAIZEN_API_KEY (or "unset"), then the status of one request through the proxy. */
  const PROBE = ['sh', '-c', 'printf "%s " "${KAIZEN_API_KEY-unset}"; curl -sS -o /dev/null -w "%{http_code}" "$0/hello"'];
  const env = (): Record<string, string> => ({ KAIZEN_API_KEY: KEY, KAIZEN_API_URL: cp.url, KAIZEN_PROXY_DATA_DIR: join(dir, 'data') });

  it('the proxy asks the control plane with the key; the command does not get it', async () => {
    cp.resetRequests();
    const run = await runWrapper([...OPEN_LOOPBACK, '--', ...PROBE, origin.url], { env: env() });
    expect(run).toMatchObject({ code: 0, stdout: 'unset 200' });
    expect(cp.requests.length).toBeGreaterThan(0);
    expect(cp.requests.every((request) => request.headers.authorization === `Bearer ${KEY}`)).toBe(true);
    expect(run.stderr).not.toContain(KEY);
  });

  it("nor does it read it from the wrapper's own environment, as ps e and /proc/PPID/environ show it", async () => {
    // The command runs as the wrapper's user: /proc/<wrapper>/environ (what `ps e` prints) is
    // readable to it, and holds the environment the wrapper was started with. The key is given to
    // the probe in two halves, so that the wrapper's own arguments do not hold it.
    const script = 'key="$0$1"; if grep -a -q -F "$key" "/proc/$PPID/environ"; then printf leaked; else printf hidden; fi; printf " %s" "$(ps e -o args= -p "$PPID" | grep -c -F "$key")"';
    const probe = ['sh', '-c', script, KEY.slice(0, 8), KEY.slice(8)];
    const run = await runWrapper([...OPEN_LOOPBACK, '--', ...probe], { env: env() });
    expect(run).toMatchObject({ code: 0, stdout: 'hidden 0' });
  });

  it("an upstream proxy's password in the wrapper's HTTPS_PROXY stays out of its /proc environ too", async () => {
    const password = 'upstream_secret_pw';
    const script = 'pw="$0$1"; if grep -a -q -F "$pw" "/proc/$PPID/environ"; then printf leaked; else printf hidden; fi';
    const probe = ['sh', '-c', script, password.slice(0, 8), password.slice(8)];
    const run = await runWrapper([...OPEN_LOOPBACK, '--', ...probe], { env: { ...env(), HTTPS_PROXY: `http://corp:${password}@127.0.0.1:9` } });
    expect(run).toMatchObject({ code: 0, stdout: 'hidden' });
  });

  it("a password in the wrapper's npm_config_https_proxy or PIP_PROXY stays out of its /proc environ", async () => {
    const password = 'tool_proxy_secret';
    const script = 'pw="$0$1"; if grep -a -q -F "$pw" "/proc/$PPID/environ"; then printf leaked; else printf hidden; fi';
    const probe = ['sh', '-c', script, password.slice(0, 8), password.slice(8)];
    for (const name of ['npm_config_https_proxy', 'PIP_PROXY']) {
      const run = await runWrapper([...OPEN_LOOPBACK, '--', ...probe], { env: { ...env(), [name]: `http://corp:${password}@127.0.0.1:9` } });
      expect({ name, ...run }).toMatchObject({ name, code: 0, stdout: 'hidden' });
    }
  });

  it('--pass-api-key hands it to a command that uses the Kaizen SDK itself', async () => {
    const run = await runWrapper([...OPEN_LOOPBACK, '--pass-api-key', '--', ...PROBE, origin.url], { env: env() });
    expect(run).toMatchObject({ code: 0, stdout: `${KEY} 200` });
  });
});
