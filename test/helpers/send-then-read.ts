import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Python's http.client through the proxy: the whole body is sent before the answer is read, as
 * http.client and requests do. Prints the answer, how long it took, and whether the proxy then
 * ended the connection (`eof`), or the exception.
 */
const HTTP_CLIENT = `import json, sys, time, http.client, socket
conn = http.client.HTTPConnection('127.0.0.1', int(sys.argv[1]), timeout=10)
t0 = time.monotonic()
try:
    conn.request('POST', sys.argv[2], body=b'x' * int(sys.argv[3]))
    res = conn.getresponse()
    body = res.read().decode()
    seconds = time.monotonic() - t0
    try:
        eof = conn.sock is None or conn.sock.recv(1) == b''
    except socket.timeout:
        eof = False
    print(json.dumps({'status': res.status, 'body': body, 'connection': res.getheader('Connection'), 'seconds': seconds, 'eof': eof}))
except Exception as e:
    print(json.dumps({'exception': type(e).__name__ + ': ' + str(e), 'seconds': time.monotonic() - t0}))
`;

/** POSTs `bytes` bytes to `url` through the proxy on `proxyPort`, all of them before reading the answer. */
export async function sendThenRead(proxyPort: number, url: string, bytes: number): Promise<Record<string, unknown>> {
  const { stdout } = await run('python3', ['-c', HTTP_CLIENT, String(proxyPort), url, String(bytes)]);
  return JSON.parse(stdout) as Record<string, unknown>;
}
