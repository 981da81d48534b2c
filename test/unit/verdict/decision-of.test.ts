import { describe, expect, it } from 'vitest';
import { decisionOf, failModeDecision } from '../../../src/verdict/decision-of.js';

describe('decisionOf', () => {
  it('maps allow to forward and block to refuse', () => {
    expect(decisionOf({ decision: 'allow', reason: 'r', evidence: [] }, 'cache')).toMatchObject({ enforce: 'forward', verdictId: null, flagged: false, wouldBlock: false });
    expect(decisionOf({ decision: 'block', reason: 'r', evidence: [], verdictId: 'v' }, 'control_plane')).toMatchObject({ enforce: 'refuse', verdictId: 'v' });
  });
});

describe('failModeDecision', () => {
  it('closed refuses, open forwards; both name the code and nothing else', () => {
    expect(failModeDecision('closed', 'KZP_ERR_CONTROL_PLANE_TIMEOUT')).toMatchObject({
      decision: 'block',
      enforce: 'refuse',
      source: 'fail_closed',
      evidence: [{ kind: 'error_code', value: 'KZP_ERR_CONTROL_PLANE_TIMEOUT', source: 'kaizen-proxy' }],
    });
    const open = failModeDecision('open', 'KZP_ERR_CONTROL_PLANE_NETWORK');
    expect(open).toMatchObject({ decision: 'allow', enforce: 'forward', source: 'fail_open' });
    expect(open.reason).toBe('Kaizen control plane could not be reached (KZP_ERR_CONTROL_PLANE_NETWORK); allowed because fail mode is open');
  });

  it('an answer that came but could not be read is not said to be unreachable', () => {
    expect(failModeDecision('open', 'KZP_ERR_CONTROL_PLANE_ANSWER').reason).toBe('Kaizen control plane answer could not be read (KZP_ERR_CONTROL_PLANE_ANSWER); allowed because fail mode is open');
    expect(failModeDecision('closed', 'KZP_ERR_CONTROL_PLANE_ANSWER').reason).toBe('Kaizen control plane answer could not be read (KZP_ERR_CONTROL_PLANE_ANSWER); refused because fail mode is closed');
  });
});
