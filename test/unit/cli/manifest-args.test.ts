import { describe, expect, it } from 'vitest';
import { parseCommand, UsageError } from '../../../src/cli/args.js';

describe('manifest and --learn on the command line', () => {
  it('manifest takes --agent, --collapse registrable, and one of --push / --policy', () => {
    expect(parseCommand(['manifest', '--agent', 'bot', '--collapse', 'registrable', '--push'])).toEqual({
      name: 'manifest',
      flags: { agent: 'bot' },
      collapse: 'registrable',
      push: true,
      policy: false,
    });
    expect(() => parseCommand(['manifest', '--push', '--policy'])).toThrow(UsageError);
    expect(() => parseCommand(['manifest', '--collapse', 'tld'])).toThrow(/--collapse expects none or registrable/);
    expect(() => parseCommand(['manifest', 'extra'])).toThrow(UsageError);
    expect(() => parseCommand(['manifest', '--', 'node'])).toThrow(UsageError);
  });

  it('--learn forces monitor mode and defaults the manifest file; its flags are refused elsewhere', () => {
    const command = parseCommand(['--learn', '--', 'node', 'agent.js']);
    expect(command).toMatchObject({ name: 'wrap', flags: { mode: 'monitor' }, wrap: { manifestOut: 'kaizen-manifest.json', collapse: 'none' } });
    expect(parseCommand(['--learn', '--manifest-out', 'm.json', '--collapse', 'registrable', '--', 'x'])).toMatchObject({ wrap: { manifestOut: 'm.json', collapse: 'registrable' } });
    expect(parseCommand(['--', 'x'])).toMatchObject({ wrap: { manifestOut: null } });
    expect(() => parseCommand(['--learn', '--mode', 'enforce', '--', 'x'])).toThrow(/monitor/);
    expect(() => parseCommand(['--manifest-out', 'm.json', '--', 'x'])).toThrow(/--learn/);
    expect(() => parseCommand(['--collapse', 'registrable', '--', 'x'])).toThrow(UsageError);
    expect(() => parseCommand(['--push', '--', 'x'])).toThrow(/manifest only/);
    expect(() => parseCommand(['serve', '--learn'])).toThrow(UsageError);
  });

  it('manifest and check refuse the flags of other commands instead of dropping them unread', () => {
    const wrapOnly = [['--agent', 'bot@team', '--manifest-out', 'm.json'], ['--summary-json', 's.json'], ['--log-file', 'l.log'], ['--learn'], ['--summary']];
    for (const args of wrapOnly) {
      const flag = args.find((arg) => arg !== '--agent' && arg.startsWith('--')) ?? '';
      expect(() => parseCommand(['manifest', ...args])).toThrow(`${flag} applies to wrap mode only`);
      expect(() => parseCommand(['check', 'example.com:443', ...args])).toThrow(`${flag} applies to wrap mode only`);
      expect(() => parseCommand(['check-config', 'x.yaml', ...args])).toThrow(`${flag} applies to wrap mode only`);
    }
    expect(() => parseCommand(['manifest', '--method', 'GET'])).toThrow('--method applies to kaizen-proxy check only');
    expect(() => parseCommand(['check', 'example.com:443', '--push'])).toThrow('--push applies to kaizen-proxy manifest only');
    expect(() => parseCommand(['check', 'example.com:443', '--policy'])).toThrow('--policy applies to kaizen-proxy manifest only');
    expect(() => parseCommand(['check', 'example.com:443', '--collapse', 'registrable'])).toThrow('--collapse applies to kaizen-proxy manifest');
  });
});
