import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { connectAction, httpAction } from '../../../src/action/build-action.js';
import { parseAuthority } from '../../../src/action/target-parse.js';
import type { Decision } from '../../../src/contract/decision.js';
import type { Target } from '../../../src/contract/target.js';
import { createLogger } from '../../../src/observe/logger.js';
import { field, InfoLine, millisField, numberField, quoted, writeInfoRecord } from '../../../src/observe/info-line.js';
import { createStdoutDestination, type StdoutDestination } from '../../../src/observe/stdout-destination.js';
import { logClosed, logDecision, newTally } from '../../../src/proxy/exchange-log.js';

// The hand-written hot lines must be what pino itself writes for the same object: the same bytes
// (the time field aside, which may cross a millisecond between the two writes).

function capture(level: 'info' | 'warn' = 'info'): { lines: string[]; root: ReturnType<typeof createLogger>; log: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const root = createLogger({ level, destination: { write: (line: string) => lines.push(line) } });
  return { lines, root, log: root.child({ conn: 7 }) };
}

/** An info line from fields already written with the field writers. */
class Written extends InfoLine {
  readonly #fields: string;

  constructor(fields: string, msg: string) {
    super(msg);
    this.#fields = fields;
  }

  fields(): string {
    return this.#fields;
  }
}

/** A real destination on a temporary file; `written` flushes it and returns the lines it wrote, parsed. */
async function withLogFile(run: (destination: StdoutDestination, written: () => Promise<Record<string, unknown>[]>) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'kzp-info-line-'));
  const file = join(dir, 'out.log');
  const fd = openSync(file, 'w');
  const destination = createStdoutDestination(fd);
  const written = async (): Promise<Record<string, unknown>[]> => {
    await new Promise<void>((resolve, reject) => {
      destination.flush((error) => {
        if (error === undefined) resolve();
        else reject(error);
      });
    });
    return readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  };
  try {
    await run(destination, written);
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}

const withoutTime = (line: string | undefined): string => (line ?? '').replace(/,"time":"[^"]+"/, ',"time":"T"');

function target(text: string): Target {
  const parsed = parseAuthority(text);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.value;
}

const decision = (overrides: Partial<Decision> = {}): Decision => ({
  decision: 'allow',
  enforce: 'forward',
  reason: 'cached "allow" \u2014 tab\there, newline\nthere, \u0001',
  evidence: [],
  source: 'cache',
  verdictId: null,
  flagged: false,
  wouldBlock: false,
  ...overrides,
});

describe('hand-written info lines', () => {
  it('match pino byte for byte for strings that need escaping, numbers, booleans and null', () => {
    const { lines, log } = capture();
    const object = { s: 'a "quoted" \\ \u00e9 \u2028 \u0000 string', n: 12.34, z: 0, inf: Number.POSITIVE_INFINITY, t: true, nul: null };
    log.info(object, 'sample');
    writeInfoRecord(log, new Written(field('s', object.s) + field('n', object.n) + field('z', object.z) + field('inf', object.inf) + field('t', object.t) + field('nul', object.nul), 'sample'));
    expect(lines).toHaveLength(2);
    expect(withoutTime(lines[1])).toBe(withoutTime(lines[0]));
    expect(JSON.parse(lines[1] ?? '')).toMatchObject({ level: 'info', name: 'kaizen-proxy', conn: 7, inf: null, nul: null, msg: 'sample' });
  });

  it('write the decision and closed lines through the root logger as a conn child would from the same fields', () => {
    const { lines, root, log } = capture();
    const tunnel = connectAction(target('example.com:443'));
    const request = httpAction(target('127.0.0.1:8080'), { method: 'post', path: '/x', scheme: 'http' });
    const cases: [typeof tunnel, Decision][] = [
      [tunnel, decision()],
      [request, decision({ decision: 'block', enforce: 'refuse', source: 'local', verdictId: 'v-1', wouldBlock: true, flagged: true })],
    ];
    for (const [action, decided] of cases) {
      logDecision(root, 7, 'agent "one"', action, decided, 1.23456);
      log.info(
        {
          agent: 'agent "one"',
          kind: action.kind,
          target: action.target,
          method: action.metadata.method ?? (action.kind === 'connect' ? 'CONNECT' : null),
          decision: decided.decision,
          reason: decided.reason,
          source: decided.source,
          verdict_id: decided.verdictId,
          ms: 1.23,
          ...(decided.wouldBlock ? { would_block: true } : {}),
          ...(decided.flagged ? { flagged: true } : {}),
        },
        'decision',
      );
    }
    const tally = newTally('http', 100);
    Object.assign(tally, { target: null, status: 502, bytesUp: 10, bytesDown: 0, code: 'KZP_ERR_UPSTREAM_CONNECT' });
    logClosed(root, 7, null, '127.0.0.1', tally, 112.345);
    log.info({ client: '127.0.0.1', kind: 'http', target: null, status: 502, bytes_up: 10, bytes_down: 0, duration_ms: 12.35, code: 'KZP_ERR_UPSTREAM_CONNECT' }, 'closed');
    // A gateway agent's exchange names its agent, as its decision line does.
    logClosed(root, 7, 'agent "one"', null, tally, 112.345);
    log.info({ agent: 'agent "one"', kind: 'http', target: null, status: 502, bytes_up: 10, bytes_down: 0, duration_ms: 12.35, code: 'KZP_ERR_UPSTREAM_CONNECT' }, 'closed');
    expect(lines).toHaveLength(8);
    for (let i = 0; i < lines.length; i += 2) expect(withoutTime(lines[i])).toBe(withoutTime(lines[i + 1]));
  });

  it('quote every character as JSON.stringify does', () => {
    for (let code = 0; code <= 0xffff; code++) {
      const char = String.fromCharCode(code);
      const text = `a${char}b`;
      if (quoted(text) !== JSON.stringify(text)) expect([code, quoted(text)]).toEqual([code, JSON.stringify(text)]);
    }
    expect(quoted('')).toBe('""');
    expect(quoted('GET 127.0.0.1:8080')).toBe('"GET 127.0.0.1:8080"');
  });

  it('write milliseconds as the number Math.round(ms * 100) / 100 prints', () => {
    const check = (ms: number): void => {
      const expected = numberField('ms', Math.round(ms * 100) / 100);
      if (millisField('ms', ms) !== expected) expect([ms, millisField('ms', ms)]).toEqual([ms, expected]);
    };
    // Every hundredth up to 2,000 ms, each hit exactly and from either side.
    for (let hundredths = 0; hundredths <= 200_000; hundredths++) {
      check(hundredths / 100);
      check(hundredths / 100 + 0.004);
      check(hundredths / 100 - 0.004);
    }
    // Random durations up to a day, and the edges.
    let seed = 42;
    for (let i = 0; i < 100_000; i++) {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      check((seed / 2 ** 31) * 86_400_000);
    }
    for (const ms of [-0, -0.001, -1.5, 1e-9, 2 ** 53, 1e300, Number.POSITIVE_INFINITY, Number.NaN]) check(ms);
    expect(millisField('ms', 1.23456)).toBe(',"ms":1.23');
    expect(millisField('ms', 0.1)).toBe(',"ms":0.1');
  });

  it('are made when their batch is written, in order, with the time and values of when they were logged', async () => {
    await withLogFile(async (destination, written) => {
      let tick = 0;
      const log = pino({ base: { name: 'kaizen-proxy' }, timestamp: () => `,"time":${String(++tick)}`, formatters: { level: (label) => ({ level: label }) } }, destination);
      tick = 0; // pino asks for the time once as it is made
      let made = 0;
      class Counted extends InfoLine {
        constructor() {
          super('deferred');
        }
        fields(): string {
          made++;
          return field('n', made);
        }
      }
      writeInfoRecord(log, new Counted());
      const tally = newTally('connect', 100);
      Object.assign(tally, { target: 'example.com:443', status: 200, bytesUp: 5, bytesDown: 7 });
      logClosed(log, 3, null, null, tally, 101.5);
      // The tally goes on changing after its line was logged; the line keeps what it was.
      Object.assign(tally, { status: 0, bytesUp: 99 });
      log.info('after');
      expect(made).toBe(0);
      const lines = await written();
      expect(made).toBe(1);
      expect(lines).toEqual([
        { level: 'info', time: 1, name: 'kaizen-proxy', n: 1, msg: 'deferred' },
        { level: 'info', time: 2, name: 'kaizen-proxy', conn: 3, kind: 'connect', target: 'example.com:443', status: 200, bytes_up: 5, bytes_down: 7, duration_ms: 1.5, msg: 'closed' },
        { level: 'info', time: 3, name: 'kaizen-proxy', msg: 'after' },
      ]);
    });
  });

  it('stand a warning in for a line whose text cannot be made, and write the others', async () => {
    await withLogFile(async (destination, written) => {
      const log = createLogger({ level: 'info', destination });
      class Broken extends InfoLine {
        constructor() {
          super('broken');
        }
        fields(): string {
          throw new Error('a bug');
        }
      }
      writeInfoRecord(log, new Written(field('n', 1), 'before'));
      writeInfoRecord(log, new Broken());
      writeInfoRecord(log, new Written(field('n', 2), 'after'));
      const lines = await written();
      expect(lines.map((line) => [line.msg, line.code ?? null])).toEqual([
        ['before', null],
        ['a log line could not be written', 'KZP_ERR_LOG_LINE'],
        ['after', null],
      ]);
    });
  });

  it('write nothing when info is not enabled', () => {
    const { lines, log } = capture('warn');
    writeInfoRecord(log, new Written(field('a', 1), 'quiet'));
    expect(lines).toEqual([]);
  });
});

describe('hand-written info lines, logger by logger', () => {
  it('follow each logger, its bindings and its level as it changes', () => {
    const { lines, root, log } = capture();
    const fields = field('n', 1);
    writeInfoRecord(root, new Written(fields, 'root'));
    writeInfoRecord(log, new Written(fields, 'child'));
    root.level = 'warn';
    writeInfoRecord(root, new Written(fields, 'quiet'));
    root.level = 'debug';
    writeInfoRecord(root, new Written(fields, 'again'));
    const other = capture();
    writeInfoRecord(other.log, new Written(fields, 'other'));
    writeInfoRecord(root, new Written(fields, 'back'));
    expect(lines.map((line) => JSON.parse(line) as Record<string, unknown>).map((line) => [line.msg, line.conn ?? null])).toEqual([
      ['root', null],
      ['child', 7],
      ['again', null],
      ['back', null],
    ]);
    expect(other.lines.map((line) => (JSON.parse(line) as Record<string, unknown>).msg)).toEqual(['other']);
  });
});
