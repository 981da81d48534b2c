/** Shared by the verdict integration tests: a config, a log capture, and decision requests. */
import { Writable } from 'node:stream';
import { loadConfig } from '../../../src/config/load.js';
import type { ProxyConfig } from '../../../src/config/types.js';
import type { Action } from '../../../src/contract/action.js';
import type { DecisionRequest, Resolution } from '../../../src/contract/decision.js';
import { createLogger, type Logger } from '../../../src/observe/logger.js';

export const API_KEY = 'kz_live_test_SECRET_4f9a2c71e0';

export interface ConfigChanges {
  readonly url?: string;
  readonly apiKey?: string | null;
  readonly timeoutMs?: number;
  readonly fail?: ProxyConfig['fail'];
  readonly cache?: Partial<ProxyConfig['cache']>;
}

/** The embedded defaults (no file), pointed at `url`, with the test API key unless told otherwise. */
export function testConfig(changes: ConfigChanges = {}): ProxyConfig {
  const loaded = loadConfig({ env: {}, defaultFile: '/nonexistent/kaizen-proxy.yaml' });
  if (!loaded.ok) throw new Error('default configuration failed to load');
  const base = loaded.config;
  return {
    ...base,
    fail: changes.fail ?? base.fail,
    controlPlane: {
      ...base.controlPlane,
      url: changes.url ?? base.controlPlane.url,
      apiKey: changes.apiKey === undefined ? API_KEY : changes.apiKey,
      timeoutMs: changes.timeoutMs ?? 2000,
    },
    cache: { ...base.cache, ...changes.cache },
  };
}

export interface LogCapture {
  readonly logger: Logger;
  /** Every line written so far, as text (what an operator would see). */
  text(): string;
  /** Lines parsed as JSON objects. */
  lines(): readonly Record<string, unknown>[];
}

/** A real pino logger (redaction included) writing synchronously into memory. */
export function captureLogs(level: 'trace' | 'debug' | 'info' = 'trace'): LogCapture {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const logger = createLogger({ level, destination: sink });
  const text = (): string => chunks.join('');
  return {
    logger,
    text,
    lines: () =>
      text()
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

export function connectAction(target = 'api.stripe.com:443'): Action {
  return { kind: 'connect', target, metadata: { source: 'egress' } };
}

export function httpAction(target: string, method: string, path: string): Action {
  return { kind: 'http', target, metadata: { source: 'egress', method, path, scheme: 'http' } };
}

/** A request whose DNS already answered `addresses` (a public address by default). */
export function decisionRequest(action: Action, addresses: readonly string[] = ['93.184.215.14'], port = 443, agent = 'test-agent'): DecisionRequest {
  const resolution: Resolution = { ok: true, addresses };
  return { action, agent, port, resolution: Promise.resolve(resolution) };
}

export function dnsFailedRequest(action: Action, agent = 'test-agent'): DecisionRequest {
  return { action, agent, port: 443, resolution: Promise.resolve({ ok: false, code: 'KZP_ERR_DNS', message: 'ENOTFOUND' }) };
}
