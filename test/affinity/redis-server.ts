/**
 * Test fixture: a private `redis-server` on a free 127.0.0.1 port, with persistence off.
 * Never touches a server already running (6379 or any other port).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** Absolute path of `redis-server` on PATH (or /usr/bin), or `undefined` when it is not installed. */
export function findRedisServer(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/usr/local/bin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = join(dir, 'redis-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The binary, when present. Tests use it to decide between running, skipping, and failing (CI). */
export const REDIS_SERVER = findRedisServer();

/** Why the Redis tests do not run here, or `undefined` when they do. */
export const REDIS_SKIP_REASON =
  REDIS_SERVER === undefined && process.env.CI !== 'true'
    ? 'redis-server is not installed: skipping the real-Redis tests (install it, or set CI=true to make this a failure)'
    : undefined;

/** Throws when the Redis tests must run (CI=true) but `redis-server` is missing. Call it in `beforeAll`. */
export function requireRedisServer(): string {
  if (REDIS_SERVER === undefined) {
    throw new Error('redis-server is not installed, and CI=true makes the real-Redis tests mandatory');
  }
  return REDIS_SERVER;
}

/** A free TCP port on 127.0.0.1 (listen on port 0, read it, close). */
export async function freePort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const READY_TIMEOUT_MS = 10_000;

/** A running (or stopped) private redis-server. `start()` after `stop()` brings it back, empty, on the same port. */
export class RedisServer {
  readonly host = '127.0.0.1';
  #child: ChildProcess | undefined;
  readonly #dir: string;

  private constructor(
    readonly binary: string,
    readonly port: number,
  ) {
    this.#dir = mkdtempSync(join(tmpdir(), 'mcp-upstream-redis-'));
  }

  /** Starts a server on a fresh free port (retrying with another port if the bind races). */
  static async start(binary: string = requireRedisServer()): Promise<RedisServer> {
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const port = await freePort();
      if (port === 6379) continue;
      const server = new RedisServer(binary, port);
      try {
        await server.start();
        return server;
      } catch (error) {
        lastError = error;
        await server.stop();
      }
    }
    throw new Error('could not start redis-server', { cause: lastError });
  }

  /** `redis://127.0.0.1:<port>` */
  get url(): string {
    return `redis://${this.host}:${this.port}`;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** Starts the process and resolves once it accepts connections. */
  async start(): Promise<void> {
    if (this.running) return;
    const child = spawn(
      this.binary,
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.#dir],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.#child = child;
    untilExit.add(child);
    child.once('exit', () => untilExit.delete(child));
    await new Promise<void>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => fail(new Error(`redis-server not ready after ${READY_TIMEOUT_MS} ms:\n${output}`)), READY_TIMEOUT_MS);
      const onData = (chunk: Buffer): void => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) done();
      };
      const onExit = (code: number | null): void => fail(new Error(`redis-server exited (${String(code)}):\n${output}`));
      const cleanup = (): void => {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.off('exit', onExit);
        child.off('error', fail);
      };
      function done(): void {
        cleanup();
        resolve();
      }
      function fail(error: Error): void {
        cleanup();
        reject(error);
      }
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', onExit);
      child.once('error', fail);
    });
    // Keep draining output so the pipe never fills up.
    child.stdout?.resume();
    child.stderr?.resume();
  }

  /** Kills the process (SIGKILL: nothing to persist) and waits for it to exit. Idempotent. */
  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  /** Stops the server and removes its scratch directory. */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/** Servers still running; killed if the test process exits without disposing them. */
const untilExit = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of untilExit) child.kill('SIGKILL');
});
