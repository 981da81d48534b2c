import type { DecisionEvent, ProxyObserver } from '../contract/observer.js';

/**
 * One short stderr line per refused action (and per would-block in monitor mode), so a person
 * running `kaizen-proxy -- cmd` sees why the command failed without reading the log file.
 */
export function blockNotices(write: (line: string) => void): ProxyObserver {
  return {
    decided(event: DecisionEvent) {
      const { decision, action } = event;
      if (decision.source === 'limit') {
        write(`kaizen-proxy: refused ${action.kind} ${action.target}: over limits.client_rate (429)\n`);
      } else if (decision.enforce === 'refuse') {
        write(`kaizen-proxy: blocked ${action.kind} ${action.target}: ${oneLine(decision.reason)}\n`);
      } else if (decision.wouldBlock) {
        write(`kaizen-proxy: would block ${action.kind} ${action.target} (monitor mode): ${oneLine(decision.reason)}\n`);
      }
    },
  };
}

function oneLine(text: string): string {
  const single = text.replace(/[\r\n]+/g, ' ');
  return single.length > 200 ? `${single.slice(0, 199)}…` : single;
}
