/**
 * Shared plumbing of the stdio tests: the fixture server, per-test temp dirs, and the PIDs every test caused
 * (written by the fixture to its PID_FILE), so each test can assert that nothing it started is left running.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ConnectionEvents, type StdioSessionCreateRequest } from '../../src/factory.js';
import { type StdioSessionRequest } from '../../src/types.js';

/** The stateful stdio counter server (see its header for the switches). */
export const COUNTER_SERVER = fileURLToPath(new URL('./fixtures/counter-server.mjs', import.meta.url));

/** Default bound of every wait in these tests: generous, never part of an assertion. */
export const WAIT_MS = 10_000;

/** A temp dir for one test; `cleanup()` removes it. */
export function tempDir(): { path: string; file(name: string): string; cleanup(): void } {
  const path = mkdtempSync(join(tmpdir(), 'mcp-stdio-test-'));
  return {
    path,
    file: (name) => join(path, name),
    cleanup: () => rmSync(path, { recursive: true, force: true }),
  };
}

/** The pids a fixture recorded in `pidFile`: servers (`"<pid> <ppid>"`) and their `sleep` grandchildren. */
export function recordedPids(pidFile: string): { servers: number[]; parents: number[]; grandchildren: number[] } {
  let text = '';
  try {
    text = readFileSync(pidFile, 'utf8');
  } catch {
    return { servers: [], parents: [], grandchildren: [] };
  }
  const servers: number[] = [];
  const parents: number[] = [];
  const grandchildren: number[] = [];
  for (const line of text.split('\n')) {
    const [pid, second] = line.trim().split(' ');
    if (pid === undefined || pid === '') continue;
    if (second === 'child') grandchildren.push(Number(pid));
    else {
      servers.push(Number(pid));
      parents.push(Number(second));
    }
  }
  return { servers, parents, grandchildren };
}

/**
 * Whether `pid` no longer runs: `kill(pid, 0)` fails with ESRCH, or the process is a zombie (dead, waiting for
 * a reaper: a container's init may never reap the orphans of a killed group).
 */
export function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true; // vanished between the two reads
  }
}

/**
 * The pids among `pids` still running. A SIGKILL the library already sent completes asynchronously in the
 * kernel, so a pid is given up to `graceMs` to disappear; the teardown itself is never waited for here.
 */
export async function survivors(pids: readonly number[], graceMs = 1_000): Promise<number[]> {
  const deadline = Date.now() + graceMs;
  let alive = pids.filter((pid) => !isGone(pid));
  while (alive.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    alive = alive.filter((pid) => !isGone(pid));
  }
  return alive;
}

/** Kills whatever a failed test left behind (never part of an assertion). */
export function reap(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/** A stdio request for the counter fixture, recording pids to `pidFile`. */
export function counterRequest(
  downstreamSessionId: string,
  pidFile: string,
  extra: { upstreamId?: string; env?: Record<string, string>; args?: string[] } = {},
): StdioSessionRequest {
  return {
    downstreamSessionId,
    upstreamId: extra.upstreamId ?? 'counter',
    transport: 'stdio',
    command: process.execPath,
    args: [COUNTER_SERVER, ...(extra.args ?? [])],
    env: { PID_FILE: pidFile, ...extra.env },
  };
}

/** The frozen create request a factory would get for `request` (for factory-level tests). */
export function createRequest(request: StdioSessionRequest, signal: AbortSignal = new AbortController().signal): StdioSessionCreateRequest {
  return Object.freeze({
    downstreamSessionId: request.downstreamSessionId,
    upstreamId: request.upstreamId,
    signal,
    transport: 'stdio' as const,
    command: request.command,
    args: Object.freeze([...(request.args ?? [])]),
    env: Object.freeze({ ...request.env }),
    ...(request.cwd !== undefined && { cwd: request.cwd }),
  });
}

/** Events that record what a connection reports. */
export function recordingEvents(): { events: ConnectionEvents; closed: unknown[]; notifications: string[] } {
  const closed: unknown[] = [];
  const notifications: string[] = [];
  return {
    events: { closed: (reason) => closed.push(reason), notification: (n) => notifications.push(n.method) },
    closed,
    notifications,
  };
}

/** The text of a tool result's first content block. */
export function textOf(result: unknown): string | undefined {
  const content = (result as { content?: { text?: string }[] }).content;
  return content?.[0]?.text;
}

/** Resolves once `predicate` holds, checking on every event-loop turn; rejects after `timeoutMs`. */
export async function until(predicate: () => boolean, what: string, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The error `promise` rejects with (fails the test if it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error as Error,
  );
}
