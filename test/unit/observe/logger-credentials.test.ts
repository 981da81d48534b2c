import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/observe/logger.js';

function capture(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString());
      callback();
    },
  });
  return { lines, stream };
}

describe('root logger', () => {
  it('never writes credential-bearing keys, in the root or a child', async () => {
    const { lines, stream } = capture();
    const logger = createLogger({ level: 'info', destination: stream });
    const child = logger.child({ conn: 7 });
    child.info({ apiKey: 'kz_live_secret1', headers: { authorization: 'Bearer secret2' }, cookie: 'sid=secret3' }, 'one');
    logger.info({ authorization: 'Basic secret4', 'proxy-authorization': 'Basic secret5', api_key: 'secret6' }, 'two');
    logger.flush();
    await new Promise((resolve) => setImmediate(resolve));
    const text = lines.join('');
    expect(text).toContain('"msg":"one"');
    expect(text).toContain('"msg":"two"');
    expect(text).not.toMatch(/secret\d/);
    expect(text).toContain('[redacted]');
  });

  it('keeps the constant fields of a decision line', async () => {
    const { lines, stream } = capture();
    const logger = createLogger({ level: 'info', destination: stream });
    logger.info({ agent: 'a', kind: 'connect', target: 'x.example:443', decision: 'allow' }, 'decision');
    logger.flush();
    await new Promise((resolve) => setImmediate(resolve));
    const line = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    expect(line).toMatchObject({ level: 'info', name: 'kaizen-proxy', agent: 'a', target: 'x.example:443', msg: 'decision' });
  });
});
