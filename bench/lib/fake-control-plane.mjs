// A stand-in for the Kaizen API: every POST /v1/verdicts is allowed and counted. `delayMs`
// holds answers back so that concurrent first connections really overlap one pending call.
import http from 'node:http';

export async function startFakeControlPlane() {
  const state = { calls: 0, delayMs: 0, lastAction: null, unexpected: 0 };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/verdicts') {
        state.unexpected++;
        res.writeHead(404).end();
        return;
      }
      state.calls++;
      try {
        state.lastAction = JSON.parse(Buffer.concat(chunks).toString('utf8')).action ?? null;
      } catch {
        state.lastAction = null;
      }
      const answer = () => {
        const body = JSON.stringify({ decision: 'allow', reason: 'bench', id: 'v1' });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
      };
      if (state.delayMs > 0) setTimeout(answer, state.delayMs);
      else answer();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    state,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
