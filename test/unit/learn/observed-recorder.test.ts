import { mkdtemp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Decision } from '../../../src/contract/decision.js';
import type { DecisionEvent } from '../../../src/contract/observer.js';
import { createObservedRecorder } from '../../../src/learn/observed-recorder.js';
import { createLogger } from '../../../src/observe/logger.js';
import { CapturedLogs } from '../../helpers/start-proxy.js';

const allow: Decision = { decision: 'allow', enforce: 'forward', reason: 'ok', evidence: [], source: 'local', verdictId: null, flagged: false, wouldBlock: false };
const event = (agent: string, target: string): DecisionEvent => ({ agent, action: { kind: 'connect', target, metadata: { source: 'egress' } }, decision: allow, ms: 1 });

async function setup(maxDestinations = 10, flushIntervalMs = 20): Promise<{ dir: string; logs: CapturedLogs; recorder: ReturnType<typeof createObservedRecorder> }> {
  const dir = await mkdtemp(join(tmpdir(), 'kzp-observed-'));
  const logs = new CapturedLogs();
  const recorder = createObservedRecorder({ dataDir: dir, maxDestinations, flushIntervalMs, logger: createLogger({ level: 'info', destination: logs }) });
  return { dir, logs, recorder };
}

const targets = async (file: string): Promise<string[]> => (JSON.parse(await readFile(file, 'utf8')) as { destinations: { target: string }[] }).destinations.map((d) => d.target);

describe('the observed recorder', () => {
  it('writes on its own after the flush interval, one file per agent', async () => {
    const { dir, recorder } = await setup();
    recorder.decided?.(event('a', 'one:443'));
    recorder.decided?.(event('b', 'two:443'));
    for (let i = 0; i < 100 && (await readdir(join(dir, 'observed')).catch(() => [])).length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect((await readdir(join(dir, 'observed'))).sort()).toEqual(['a.json', 'b.json']);
    await recorder.close();
  });

  it('bounds destinations across the file and this process', async () => {
    const first = await setup(2);
    first.recorder.decided?.(event('a', 'one:443'));
    first.recorder.decided?.(event('a', 'two:443'));
    await first.recorder.close();
    const again = createObservedRecorder({ dataDir: first.dir, maxDestinations: 2, flushIntervalMs: 1000, logger: createLogger({ level: 'silent' }) });
    again.decided?.(event('a', 'one:443'));
    again.decided?.(event('a', 'three:443'));
    await again.close();
    const file = join(first.dir, 'observed', 'a.json');
    expect(await targets(file)).toEqual(['one:443', 'two:443']);
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ dropped: { actions: 1 } });
  });

  it('moves a file that is not a record aside instead of overwriting it', async () => {
    const { dir, logs, recorder } = await setup();
    await mkdir(join(dir, 'observed'));
    await writeFile(join(dir, 'observed', 'a.json'), 'not json');
    recorder.decided?.(event('a', 'one:443'));
    await recorder.close();
    expect((await readdir(join(dir, 'observed'))).sort()).toEqual(['a.json', 'a.json.invalid']);
    expect(await targets(join(dir, 'observed', 'a.json'))).toEqual(['one:443']);
    expect(logs.lines.some((l) => l.msg === 'observed record unreadable: moved aside to .invalid, starting a new one')).toBe(true);
  });

  it('a data_dir it cannot write is a warning, not a failure', async () => {
    const { dir, logs } = await setup();
    await writeFile(join(dir, 'file'), '');
    const recorder = createObservedRecorder({ dataDir: join(dir, 'file'), maxDestinations: 10, flushIntervalMs: 10, logger: createLogger({ level: 'info', destination: logs }) });
    recorder.decided?.(event('a', 'one:443'));
    await recorder.close();
    expect(logs.lines.filter((l) => l.msg === 'cannot write the observed record; will retry')).toHaveLength(1);
  });
});
