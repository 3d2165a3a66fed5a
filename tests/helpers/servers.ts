// Starts a server process for a test (Node, deno serve, workerd ...) on 127.0.0.1, waits until
// it answers, reads its resident memory, and stops it; every wait is bounded.
import process from 'node:process';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ROOT } from './env.ts';

export const DENO = join(ROOT, 'node_modules', '.bin', 'deno');
/** workerd's binary from the npm package (the platform package's, else its launcher). */
export const WORKERD = [
  join(ROOT, 'node_modules', '@cloudflare', 'workerd-linux-64', 'bin', 'workerd'),
  join(ROOT, 'node_modules', '.bin', 'workerd'),
].find((p) => existsSync(p));

/** `workerd serve` of `config` on 127.0.0.1:`port`, the Worker's cache directory `cache`. */
export function workerdArgs(config: string, port: number, cache: string): string[] {
  return [
    'serve',
    config,
    '--socket-addr',
    `http=127.0.0.1:${port}`,
    '--directory-path',
    `srpose-cache=${cache}`,
  ];
}

export interface RunningServer {
  readonly url: string;
  readonly pid: number;
  /** Everything the process printed so far. */
  output(): string;
  /** Resident set size in bytes (Linux /proc), or NaN where unreadable. */
  rss(): number;
  stop(): Promise<void>;
}

/**
 * The command serving a built bundle on 127.0.0.1:`port`: `node <bundle>` (which reads PORT and
 * HOST from its environment) or `deno serve` (which takes them as flags).
 */
export function serveCommand(
  runtime: 'node' | 'deno',
  bundle: string,
  port: number,
): [string, string[]] {
  return runtime === 'node'
    ? [process.execPath.includes('deno') ? 'node' : process.execPath, [bundle]]
    : [DENO, ['serve', '--allow-all', '--host', '127.0.0.1', '--port', String(port), bundle]];
}

/** A port free right now on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Spawns `cmd args` with `env` added, then polls `url + readyPath` until it answers 200 and
 * `ready(body)` holds, for at most `timeoutMs`.
 */
export async function startServer(opts: {
  cmd: string;
  args: string[];
  env?: Record<string, string>;
  port: number;
  readyPath?: string;
  ready?: (body: any) => boolean;
  timeoutMs?: number;
  cwd?: string;
}): Promise<RunningServer> {
  const url = `http://127.0.0.1:${opts.port}`;
  const child: ChildProcess = spawn(opts.cmd, opts.args, {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let exited: number | null | undefined;
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const gone = new Promise<void>((r) => child.once('exit', (code) => ((exited = code), r())));
  const stop = async () => {
    if (exited !== undefined) return;
    child.kill('SIGTERM');
    await Promise.race([gone, sleep(5000)]);
    if (exited === undefined) {
      // process.kill, not child.kill: Deno's child.kill sends nothing once `killed` is set (by
      // the SIGTERM above), and workerd with an inspector attached ignores SIGTERM.
      try {
        process.kill(child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      await Promise.race([gone, sleep(5000)]);
    }
  };
  const deadline = Date.now() + (opts.timeoutMs ?? 90_000);
  for (;;) {
    if (exited !== undefined) {
      throw new Error(`${opts.cmd} exited with ${exited} before answering:\n${out.slice(-3000)}`);
    }
    try {
      const res = await fetch(url + (opts.readyPath ?? '/healthz'), {
        signal: AbortSignal.timeout(2000),
      });
      const body = res.headers.get('content-type')?.includes('json')
        ? await res.json()
        : await res.text();
      if (res.status === 200 && (opts.ready ?? (() => true))(body)) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${opts.cmd} did not become ready at ${url} in time:\n${out.slice(-3000)}`);
    }
    await sleep(200);
  }
  return {
    url,
    pid: child.pid!,
    output: () => out,
    rss() {
      const f = `/proc/${child.pid}/status`;
      if (!existsSync(f)) return NaN;
      const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(f, 'utf8'));
      return m ? Number(m[1]) * 1024 : NaN;
    },
    stop,
  };
}

/** Runs `jobs` with at most `concurrency` in flight; resolves to their results in order. */
export async function pool<T>(
  count: number,
  concurrency: number,
  job: (i: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) {
      const i = next++;
      results[i] = await job(i);
    }
  }));
  return results;
}
