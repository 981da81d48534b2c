import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createHostsFile, parseHosts } from '../../../src/net/hosts-file.js';

describe('hosts file: parsing', () => {
  it('lists each name and alias with every address of its lines, in file order, once each', () => {
    const table = parseHosts(
      [
        '# a comment line',
        '127.0.0.1\tlocalhost',
        '::1 localhost ip6-localhost   # trailing comment',
        '10.0.0.5 DB.Corp.Test db',
        '10.0.0.6 db.corp.test. ',
        '10.0.0.5 db',
        '   ',
        '0:0:0:0:0:0:0:1 long-form',
      ].join('\n'),
    );
    expect(table.get('localhost')).toEqual(['127.0.0.1', '::1']);
    expect(table.get('ip6-localhost')).toEqual(['::1']);
    expect(table.get('db.corp.test')).toEqual(['10.0.0.5', '10.0.0.6']);
    expect(table.get('db')).toEqual(['10.0.0.5']);
    expect(table.get('long-form')).toEqual(['::1']);
    expect(table.get('trailing')).toBeUndefined();
  });

  it('skips lines whose first field is no usable address', () => {
    const table = parseHosts('not-an-ip bad\n127.1 short-form\nfe80::1%eth0 zoned\n#10.0.0.1 commented\n10.0.0.1\n');
    expect([...table.keys()]).toEqual([]);
  });
});

describe('hosts file: changes', () => {
  it('is read again when it changed, looked at no more than once a second', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'kzp-hosts-')), 'hosts');
    let clock = 0;
    try {
      writeFileSync(path, '10.0.0.1 box\n');
      const hosts = createHostsFile(path, { now: () => clock });
      expect(hosts.addressesOf('box')).toEqual(['10.0.0.1']);
      writeFileSync(path, '10.0.0.2 box\n');
      utimesSync(path, 1_000, 1_000);
      clock += 999;
      expect(hosts.addressesOf('box')).toEqual(['10.0.0.1']);
      clock += 1;
      expect(hosts.addressesOf('box')).toEqual(['10.0.0.2']);
      rmSync(path);
      clock += 1_000;
      expect(hosts.addressesOf('box')).toBeUndefined();
    } finally {
      rmSync(path, { force: true });
    }
  });
});
