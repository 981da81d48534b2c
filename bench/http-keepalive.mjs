// 4. Plain-HTTP keep-alive requests per second: 50 persistent client connections send GETs one
// at a time (no pipelining) until a fixed total is answered. Through a proxy the request line is
// absolute-form; direct, origin-form to the same origin. A raw-socket client with a minimal
// response parser keeps the client's CPU per request far below any proxy's.
import net from 'node:net';
import { childMain, isMain } from './lib/child.mjs';

const HEAD_END = Buffer.from('\r\n\r\n');
const CHUNKED_END = Buffer.from('0\r\n\r\n');

/** Bytes a complete response occupies at the start of buf, or -1 while incomplete. */
function responseLength(buf, state) {
  if (state.headLen < 0) {
    const end = buf.indexOf(HEAD_END);
    if (end === -1) return -1;
    state.headLen = end + 4;
    const head = buf.toString('latin1', 0, end);
    state.status = Number(head.slice(9, 12));
    const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    state.chunked = /\r\ntransfer-encoding:[^\r]*chunked/i.test(head);
    state.bodyLen = cl ? Number(cl[1]) : 0;
    state.close = /\r\nconnection:[^\r]*close/i.test(head) || head.startsWith('HTTP/1.0');
  }
  if (state.chunked) {
    const end = buf.indexOf(CHUNKED_END, state.headLen);
    return end === -1 ? -1 : end + CHUNKED_END.length;
  }
  const total = state.headLen + state.bodyLen;
  return buf.length >= total ? total : -1;
}

function connection(connectTo, request, next) {
  return new Promise((resolve, reject) => {
    let reconnects = 0;
    const open = () => {
      const socket = net.connect(connectTo);
      socket.setNoDelay(true);
      let buf = Buffer.alloc(0);
      let state = { headLen: -1 };
      let inFlight = false;
      const send = () => {
        if (!next()) {
          socket.destroy();
          resolve(reconnects);
          return;
        }
        inFlight = true;
        socket.write(request);
      };
      socket.on('connect', send);
      socket.on('data', (chunk) => {
        buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
        const len = responseLength(buf, state);
        if (len < 0) return;
        if (state.status !== 200) {
          socket.destroy();
          reject(new Error(`HTTP ${state.status}: ${buf.toString('latin1', 0, 300)}`));
          return;
        }
        buf = buf.subarray(len);
        const close = state.close;
        state = { headLen: -1 };
        inFlight = false;
        if (close) {
          socket.destroy();
          reconnects++;
          open();
          return;
        }
        send();
      });
      socket.on('error', (err) => reject(err));
      socket.on('end', () => {
        if (inFlight) reject(new Error('connection closed with a request in flight'));
      });
    };
    open();
  });
}

export async function measure({ via, host, port, total, connections, warmup }, ctx) {
  const authority = `${host}:${port}`;
  const target = via ? `http://${authority}/bench` : '/bench';
  const request = Buffer.from(`GET ${target} HTTP/1.1\r\nHost: ${authority}\r\nUser-Agent: kaizen-bench\r\nAccept: */*\r\n\r\n`);
  const connectTo = via ?? { host, port };
  const run = async (count) => {
    let issued = 0;
    const next = () => issued < count && ++issued > 0;
    const t0 = process.hrtime.bigint();
    const reconnects = await Promise.all(Array.from({ length: connections }, () => connection(connectTo, request, next)));
    return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, reconnects: reconnects.reduce((a, b) => a + b, 0) };
  };
  if (warmup > 0) await run(warmup);
  await ctx.checkpoint('start');
  const { seconds, reconnects } = await run(total);
  await ctx.checkpoint('end');
  return { total, connections, seconds, reconnects, perSec: total / seconds };
}

if (isMain(import.meta.url)) childMain(measure);
