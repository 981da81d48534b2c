import { execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { all, execForm, last, parseDockerfile, type Stage } from '../../helpers/dockerfile.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const stages = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const runtime = stages.at(-1) as Stage;
const work = mkdtempSync(join(tmpdir(), 'kzp-image-'));

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

function workdir(stage: Stage): string {
  return last(stage, 'WORKDIR')?.args ?? '/';
}

/** A path inside the image's runtime WORKDIR → the same path under the temporary folder. */
function local(imagePath: string): string {
  const absolute = posix.resolve(workdir(runtime), imagePath);
  return join(work, posix.relative(workdir(runtime), absolute));
}

/** Where a COPY source lives on this machine: the repo, or for --from=build the repo's built tree. */
function source(path: string, from: string | null): string {
  if (from === null) return join(ROOT, path);
  const stage = stages.find((s) => s.name === from);
  if (stage === undefined) throw new Error(`COPY --from=${from}: no such stage`);
  // The build stage works on a copy of the repo at its WORKDIR and runs `npm run build` there,
  // exactly as `npm test` does here before the suites run.
  return join(ROOT, posix.relative(workdir(stage), path));
}

function copy(args: string): void {
  const words = args.split(/\s+/);
  const from = words[0]?.startsWith('--from=') === true ? (words.shift() ?? '').slice('--from='.length) : null;
  const dest = words.pop() ?? '';
  for (const path of words) {
    const src = source(path, from);
    if (!existsSync(src)) throw new Error(`COPY ${args}: ${src} does not exist (run npm run build first)`);
    const into = dest.endsWith('/') || words.length > 1 ? join(local(dest), posix.basename(path)) : local(dest);
    mkdirSync(dirname(into), { recursive: true });
    cpSync(src, into, { recursive: statSync(src).isDirectory() });
  }
}

/** Replays a RUN line's npm commands (apt-get and cache cleaning concern the image, not this test). */
async function replay(args: string): Promise<void> {
  for (const command of args.split('&&').map((part) => part.trim())) {
    if (!command.startsWith('npm ci')) continue;
    const argv = command.split(/\s+/).slice(1);
    if (!argv.includes('--ignore-scripts')) argv.push('--ignore-scripts');
    await run('npm', [...argv, '--prefer-offline'], { cwd: work, timeout: 180_000 });
  }
}

function imageEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'], HOME: work };
  for (const instruction of all(runtime, 'ENV')) {
    const [name, value] = instruction.args.split('=');
    if (name !== undefined && value !== undefined) env[name] = value;
  }
  return env;
}

/** ENTRYPOINT + CMD as the image runs them, without tini, with this machine's node, on ports 0. */
function command(): string[] {
  let argv = [...execForm(last(runtime, 'ENTRYPOINT')?.args ?? '[]'), ...execForm(last(runtime, 'CMD')?.args ?? '[]')];
  if (argv[0]?.endsWith('/tini') === true) argv = argv.slice(argv.indexOf('--') + 1);
  for (const flag of ['--listen', '--admin']) {
    const index = argv.indexOf(flag);
    if (index >= 0) argv[index + 1] = '127.0.0.1:0';
    else argv.push(flag, '127.0.0.1:0');
  }
  return argv.map((word) => (word === 'node' ? process.execPath : word));
}

describe('the Dockerfile runtime stage, replayed outside a container', () => {
  it('is Node 24 slim, non-root 1337, exposes 8080 and 9901, with tini and a healthcheck', () => {
    expect(runtime.from).toMatch(/^node:24[\w.-]*slim$/);
    expect(last(runtime, 'USER')?.args).toBe('1337:1337');
    expect(last(runtime, 'EXPOSE')?.args.split(/\s+/)).toEqual(['8080', '9901']);
    expect(execForm(last(runtime, 'ENTRYPOINT')?.args ?? '[]').slice(0, 2)).toEqual(['/usr/bin/tini', '--']);
    expect(last(runtime, 'HEALTHCHECK')?.args).toContain('/healthz');
    expect(all(runtime, 'RUN').some((r) => /npm ci\b.*--omit=dev/.test(r.args))).toBe(true);
  });

  it('starts from the copied files and production dependencies alone, and answers /healthz', async () => {
    for (const instruction of runtime.instructions) {
      if (instruction.keyword === 'COPY') copy(instruction.args);
      if (instruction.keyword === 'RUN') await replay(instruction.args);
    }
    // Dev dependencies stayed out, and nothing above the folder can lend a module.
    expect(existsSync(join(work, 'node_modules', 'pino'))).toBe(true);
    expect(existsSync(join(work, 'node_modules', 'typescript'))).toBe(false);

    const [node, ...args] = command();
    const child = spawn(node ?? process.execPath, args, { cwd: work, env: imageEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => {
      resolve(code);
    }));
    try {
      const listening = await new Promise<Record<string, unknown>>((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`no listening line: ${stdout} ${stderr}`));
        }, 20_000);
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          stdout += chunk;
          const line = stdout.split('\n').find((text) => text.includes('"msg":"listening"'));
          if (line !== undefined) {
            clearTimeout(timer);
            resolve(JSON.parse(line) as Record<string, unknown>);
          }
        });
        void exited.then((code) => {
          reject(new Error(`exited ${String(code)}: ${stderr}`));
        });
      });
      expect(listening['config_file']).toBe('config/kaizen-proxy.yaml');
      const admin = String(listening['admin']);
      expect(admin).toMatch(/^127\.0\.0\.1:\d+$/);
      const health = await fetch(`http://${admin}/healthz`);
      expect(health.status).toBe(200);
      expect((await fetch(`http://${admin}/readyz`)).status).toBe(200);

      // The image's own HEALTHCHECK command, pointed at the port this run got.
      const healthcheck = execForm((last(runtime, 'HEALTHCHECK')?.args ?? '').replace(/^.*?CMD\s+/, ''));
      const [, ...checkArgs] = healthcheck.map((word) => word.replace('127.0.0.1:9901', admin));
      await expect(run(process.execPath, checkArgs, { cwd: work, env: imageEnv() })).resolves.toBeDefined();
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
