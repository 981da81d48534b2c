import { EventEmitter } from 'node:events';
import { createProxyServer, type ProxyServer, type ProxyServerOptions } from '../../src/proxy/proxy-server.js';
import { createLogger } from '../../src/observe/logger.js';
import { createFakeDecider } from './fake-decider.js';

export type LogLine = Record<string, unknown> & { readonly msg?: string };

/** Log lines captured in memory (pino writes each line synchronously to this destination). */
export class CapturedLogs {
  readonly lines: LogLine[] = [];
  readonly #events = new EventEmitter();

  write(text: string): void {
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const parsed = JSON.parse(line) as LogLine;
      this.lines.push(parsed);
      this.#events.emit('line', parsed);
    }
  }

  /** The raw text of every line, for "never appears anywhere" assertions. */
  get text(): string {
    return this.lines.map((line) => JSON.stringify(line)).join('\n');
  }

  /** Resolves with the first line (already captured or still to come) that matches. */
  waitFor(predicate: (line: LogLine) => boolean): Promise<LogLine> {
    const found = this.lines.find(predicate);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve) => {
      const listener = (line: LogLine): void => {
        if (!predicate(line)) return;
        this.#events.off('line', listener);
        resolve(line);
      };
      this.#events.on('line', listener);
    });
  }
}

export interface StartedProxy {
  readonly port: number;
  /** "http://127.0.0.1:PORT" */
  readonly url: string;
  readonly server: ProxyServer;
  readonly logs: CapturedLogs;
  close(): Promise<void>;
}

export type StartProxyOptions = Partial<Omit<ProxyServerOptions, 'logger' | 'limits' | 'network'>> & {
  readonly limits?: Partial<ProxyServerOptions['limits']>;
  readonly network?: Partial<ProxyServerOptions['network']>;
  /** Where to listen; 127.0.0.1 by default (clients always connect to 127.0.0.1). */
  readonly host?: string;
};

/** createProxyServer on 127.0.0.1:0 (or `host`) with small test limits and logs captured in memory. */
export async function startProxy(options: StartProxyOptions = {}): Promise<StartedProxy> {
  const logs = new CapturedLogs();
  const logger = createLogger({ level: 'info', destination: logs });
  const server = createProxyServer({
    decider: options.decider ?? createFakeDecider(),
    agent: options.agent ?? 'test-agent',
    logger,
    limits: { maxConnections: 100, maxHeaderBytes: 16_384, headerTimeoutMs: 5_000, drainTimeoutMs: 2_000, ...options.limits },
    network: { connectTimeoutMs: 2_000, idleTimeoutMs: 10_000, dnsTtlMs: 30_000, dnsNegativeTtlMs: 5_000, dnsStaleIfErrorMs: 300_000, dnsTimeoutMs: 5_000, ...options.network },
    ...(options.resolve === undefined ? {} : { resolve: options.resolve }),
    ...(options.upstreamCa === undefined ? {} : { upstreamCa: options.upstreamCa }),
    ...(options.observer === undefined ? {} : { observer: options.observer }),
    ...(options.connector === undefined ? {} : { connector: options.connector }),
    ...(options.interceptor === undefined ? {} : { interceptor: options.interceptor }),
    ...(options.labels === undefined ? {} : { labels: options.labels }),
    ...(options.authenticate === undefined ? {} : { authenticate: options.authenticate }),
  });
  const bound = await server.listen(options.host ?? '127.0.0.1', 0);
  return { port: bound.port, url: `http://127.0.0.1:${bound.port}`, server, logs, close: () => server.close() };
}
