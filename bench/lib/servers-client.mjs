// The bench's origin servers (bench/lib/servers.mjs, a forked child answering stats over IPC) and
// the commit the figures belong to.
import { execFileSync, fork } from 'node:child_process';

export function startServers(script, onPid) {
  return new Promise((resolve, reject) => {
    const child = fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    onPid(child.pid);
    const waiting = new Map();
    let nextId = 0;
    child.on('message', (msg) => {
      if (msg.type === 'ready') {
        resolve({
          pid: child.pid,
          host: msg.host,
          ports: msg.ports,
          stop: () => child.disconnect(),
          stats: () => new Promise((done) => {
            const id = ++nextId;
            waiting.set(id, done);
            child.send({ type: 'stats', id });
          }),
        });
      } else if (msg.type === 'stats') {
        waiting.get(msg.id)?.(msg.accepted);
        waiting.delete(msg.id);
      }
    });
    child.once('exit', (code) => reject(new Error(`servers exited (${code})`)));
  });
}

export function gitCommit(ROOT) {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${sha}+dirty-src` : sha;
  } catch {
    return 'unknown';
  }
}
