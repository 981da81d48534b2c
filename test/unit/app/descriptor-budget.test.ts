import { describe, expect, it } from 'vitest';
import { DESCRIPTOR_RESERVE, parseOpenFilesLimit, warnOnDescriptorBudget } from '../../../src/app/descriptor-budget.js';
import { createLogger } from '../../../src/observe/logger.js';
import { CapturedLogs } from '../../helpers/start-proxy.js';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max processes             63432                63432                processes
Max open files            1024                 20000                files
Max locked memory         8388608              8388608              bytes
`;

function warnings(maxConnections: number, limit: { soft: number; hard: number } | null) {
  const logs = new CapturedLogs();
  warnOnDescriptorBudget(createLogger({ level: 'info', destination: logs }), maxConnections, limit);
  return logs.lines.filter((line) => line.level === 'warn');
}

describe('the descriptor budget at start', () => {
  it('reads the open files row of /proc/self/limits, unlimited included', () => {
    expect(parseOpenFilesLimit(LIMITS)).toEqual({ soft: 1024, hard: 20_000 });
    expect(parseOpenFilesLimit('Max open files            unlimited            unlimited            files\n')).toEqual({ soft: Infinity, hard: Infinity });
    expect(parseOpenFilesLimit('Max processes 1 1 processes\n')).toBeNull();
  });

  it('warns when max_connections needs two descriptors a connection plus the reserve beyond the soft limit', () => {
    const soft = 10_000 * 2 + DESCRIPTOR_RESERVE;
    expect(warnings(10_000, { soft, hard: soft })).toEqual([]);
    const [line, ...rest] = warnings(10_000, { soft: soft - 1, hard: soft - 1 });
    expect(rest).toEqual([]);
    expect(line).toMatchObject({ max_connections: 10_000, descriptors_needed: soft, open_files_limit: soft - 1, max_connections_reachable: 9_999 });
  });

  it('tells apart a soft limit left below the hard one', () => {
    const lines = warnings(100, { soft: 1024, hard: 4096 });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ open_files_limit: 1024, open_files_hard_limit: 4096 });
  });
});
