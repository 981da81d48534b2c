import { describe, expect, it } from 'vitest';
import { parseCredentialsFile } from '../../../src/gateway/credentials-file.js';

const HEX = 'a'.repeat(64);

describe('parseCredentialsFile', () => {
  it('reads agent:sha256 lines, skipping comments and blank lines, CRLF included', () => {
    expect(parseCredentialsFile(`# one per line\r\n\r\nbot-1:${HEX}\r\n  bot-2:${'B'.repeat(64)}  \n`)).toEqual({
      ok: true,
      credentials: [
        { agent: 'bot-1', sha256: HEX },
        { agent: 'bot-2', sha256: 'b'.repeat(64) },
      ],
    });
  });

  it.each([
    [`bot-1 ${HEX}`, 1, /agent:sha256hex/],
    [`bot 1:${HEX}`, 1, /without spaces/],
    ['bot-1:abc', 1, /64 hex/],
    [`bot-1:${HEX}\nbot-1:${HEX}`, 2, /twice/],
    ['# nothing\n', 1, /no agent/],
  ])('refuses %j at line %i', (text, line, message) => {
    const parsed = parseCredentialsFile(text);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.line).toBe(line);
    expect(parsed.message).toMatch(message);
  });
});
