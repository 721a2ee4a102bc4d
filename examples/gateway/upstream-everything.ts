/**
 * `@modelcontextprotocol/server-everything` (the MCP reference server that exercises every protocol feature)
 * in its own Streamable HTTP mode, as a child process bound to 127.0.0.1 only: it listens on every
 * interface by default, so `loopback-only.mjs` is preloaded to force the loopback address and report the
 * free port it got. The child gets a minimal environment (its `get-env` tool prints whatever it has).
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface EverythingUpstream {
  /** The MCP endpoint. */
  readonly url: string;
  /** The child's process id. */
  readonly pid: number;
  /** Stops the child (SIGTERM, then SIGKILL after 2 s) and waits for it to exit. */
  close(): Promise<void>;
}

const STARTUP_TIMEOUT_MS = 15_000;

function everythingEntry(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@modelcontextprotocol/server-everything/package.json')), 'dist', 'index.js');
}

/**
 * server-everything as a stdio upstream: the `command` and `args` of a stdio session request (one child
 * process per downstream session).
 */
export function everythingStdio(): { transport: 'stdio'; command: string; args: string[] } {
  return { transport: 'stdio', command: process.execPath, args: [everythingEntry(), 'stdio'] };
}

/** Starts server-everything (`streamableHttp` mode) on a free loopback port. */
export async function startEverythingUpstream(): Promise<EverythingUpstream> {
  const entry = everythingEntry();
  const preload = join(dirname(fileURLToPath(import.meta.url)), 'loopback-only.mjs');
  const env: Record<string, string> = { PORT: '0' };
  for (const name of ['PATH', 'HOME', 'TMPDIR']) if (process.env[name] !== undefined) env[name] = process.env[name];
  const child = spawn(process.execPath, ['--import', preload, entry, 'streamableHttp'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const port = await new Promise<number>((resolve, reject) => {
    let stderr = '';
    const timer = setTimeout(() => fail(new Error('server-everything did not start in time')), STARTUP_TIMEOUT_MS);
    const fail = (error: Error): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(error);
    };
    child.once('error', fail);
    const onExit = (code: number | null): void => fail(new Error(`server-everything exited (${String(code)}): ${stderr.slice(-500)}`));
    child.once('exit', onExit);
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      const match = /LOOPBACK_LISTENING (\d+)/.exec(stderr);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve(Number(match[1]));
      }
    });
  });

  return {
    url: `http://127.0.0.1:${port}/mcp`,
    pid: child.pid ?? -1,
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 2_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
