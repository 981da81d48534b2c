import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServe, tempDir, writeFile, type ServeProcess } from './cli-process.js';

/**
 * A real `kaizen-proxy serve` whose file is edited with a change that needs a restart, then sent
 * SIGHUP at once, as an operator does: the file watcher, which sees the same edit a moment later,
 * must not reload that content a second time, and a SIGHUP with nothing new must not repeat the
 * restart warning (it says the restart is still pending, at info).
 */
let serve: ServeProcess;
let dir: string;

const BASE = ['listen: 127.0.0.1:0', 'admin: off', 'network: { allow_private: [127.0.0.0/8] }'];
/** Longer than the watcher's debounce (200 ms) and its re-read: a bound for a line that must not come. */
const SETTLE_MS = 1_000;

const reloads = (): Record<string, unknown>[] => serve.lines.filter((line) => line['component'] === 'reload');
async function nextReload(action: () => void): Promise<Record<string, unknown>> {
  const seen = reloads().length;
  action();
  return serve.waitFor((line) => line['component'] === 'reload' && reloads().indexOf(line) >= seen);
}

beforeAll(async () => {
  dir = tempDir();
  serve = await startServe(['-c', writeFile(dir, 'kaizen-proxy.yaml', BASE.join('\n'))]);
});

afterAll(async () => {
  expect(await serve.stop()).toBe(0);
});

describe('a reload of content already reloaded', () => {
  it('is not reloaded again by the file watcher, and SIGHUP does not repeat the restart warning', async () => {
    const hup = await nextReload(() => {
      writeFile(dir, 'kaizen-proxy.yaml', ['listen: 127.0.0.1:1', ...BASE.slice(1), 'mode: monitor'].join('\n'));
      serve.child.kill('SIGHUP');
    });
    expect(hup).toMatchObject({ level: 'warn', trigger: 'SIGHUP', applied: ['mode'], restart_required: ['listen'] });
    const after = reloads().length;
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    expect(reloads().slice(after)).toEqual([]);

    const again = await nextReload(() => serve.child.kill('SIGHUP'));
    expect(again).toMatchObject({ level: 'info', msg: 'configuration reloaded: no change', trigger: 'SIGHUP', applied: [], restart_required: [], restart_pending: ['listen'] });
  });

  it('warns again when the file changes a setting that needs a restart once more', async () => {
    const changed = await nextReload(() => writeFile(dir, 'kaizen-proxy.yaml', ['listen: 127.0.0.1:2', ...BASE.slice(1), 'mode: monitor'].join('\n')));
    expect(changed).toMatchObject({ level: 'warn', trigger: 'file change', applied: [], restart_required: ['listen'] });
    // Back to the value the proxy runs with: nothing waits for a restart any more.
    const back = await nextReload(() => writeFile(dir, 'kaizen-proxy.yaml', BASE.join('\n')));
    expect(back).toMatchObject({ level: 'info', msg: 'configuration reloaded', trigger: 'file change', applied: ['mode'], restart_required: [] });
    expect(back['restart_pending']).toBeUndefined();
  });
});
