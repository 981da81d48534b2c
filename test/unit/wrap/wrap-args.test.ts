import { describe, expect, it } from 'vitest';
import { parseCommand, UsageError } from '../../../src/cli/args.js';

describe('wrap-mode command line', () => {
  it('takes everything after the first -- verbatim as the command', () => {
    expect(parseCommand(['--agent', 'bot', '--summary', '--log-file', 'p.log', '--', 'node', '--', '-e', 'x y'])).toEqual({
      name: 'wrap',
      flags: { agent: 'bot' },
      wrap: { summary: true, summaryJson: null, logFile: 'p.log', manifestOut: null, collapse: 'none', passApiKey: false },
      argv: ['node', '--', '-e', 'x y'],
    });
  });

  it('takes --pass-api-key in wrap mode only', () => {
    const command = parseCommand(['--pass-api-key', '--', 'node', 'agent.js']);
    expect(command).toMatchObject({ name: 'wrap', wrap: { passApiKey: true }, argv: ['node', 'agent.js'] });
    expect(() => parseCommand(['--pass-api-key'])).toThrow(/--pass-api-key applies to wrap mode only/);
  });

  it('keeps serve as it was, and refuses wrap flags, serve with a command, or an empty command', () => {
    expect(parseCommand(['serve', '--listen', '127.0.0.1:0'])).toEqual({ name: 'serve', flags: { listen: '127.0.0.1:0' } });
    expect(() => parseCommand(['--summary-json', 'f'])).toThrow(UsageError);
    expect(() => parseCommand(['serve', '--', 'node'])).toThrow(UsageError);
    expect(() => parseCommand(['--'])).toThrow(/expected a command after --/);
    expect(() => parseCommand(['--bogus', '--', 'node'])).toThrow(UsageError);
  });
});
