// kaizen-proxy's longest event-loop delay since the last scrape of its /metrics (prom-client's
// nodejs_eventloop_lag_max_seconds; a scrape resets it), in ms, or null when it is not reported.
import net from 'node:net';

export async function loopDelayMaxMs(adminPort) {
  const text = await new Promise((resolve, reject) => {
    const req = net.connect(adminPort, '127.0.0.1', () => req.write('GET /metrics HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n'));
    let data = '';
    req.on('data', (d) => { data += d; });
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
  const match = /^nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(text);
  return match ? Number(match[1]) * 1000 : null;
}
