// The default MCP factory with `transport: 'stdio'` (SPEC §9), driven directly: one real child process per
// connection, torn down completely on every path. Every test asserts the pids it caused are gone.
import { afterEach, describe, expect, it } from 'vitest';
import { type Client } from '@modelcontextprotocol/sdk/client/index.js';
import { classifyError, InvalidOptionsError } from '../../src/index.js';
import { createMcpSessionFactory } from '../../src/mcp/v1/factory.js';
import { type UpstreamConnection } from '../../src/factory.js';
import {
  COUNTER_SERVER,
  counterRequest,
  createRequest,
  recordedPids,
  recordingEvents,
  reap,
  rejectionOf,
  survivors,
  tempDir,
  textOf,
  until,
} from './helpers.js';

const STDIO_FAILURE = Symbol.for('mcp-upstream-sessions.stdioFailure');
let dir = tempDir();
let pidFile = dir.file('pids');
const opened: UpstreamConnection<Client>[] = [];

// Every test: once its connections are closed, nothing it started may still run.
afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close(AbortSignal.abort()).catch(() => undefined)));
  const { servers, parents, grandchildren } = recordedPids(pidFile);
  const left = await survivors([...servers, ...grandchildren, ...parents.filter((pid) => pid !== process.pid)]);
  reap(left);
  dir.cleanup();
  dir = tempDir();
  pidFile = dir.file('pids');
  expect(left).toEqual([]);
});

async function open(extra: Parameters<typeof counterRequest>[2] = {}, signal?: AbortSignal) {
  const factory = createMcpSessionFactory({ onStderr: (key, line) => stderr.push(`${key.downstreamSessionId}: ${line}`) });
  const recorded = recordingEvents();
  const connection = await factory.create(createRequest(counterRequest('d-1', pidFile, extra), signal), recorded.events);
  opened.push(connection);
  return { connection, ...recorded };
}
const stderr: string[] = [];

describe('a stdio connection', () => {
  it('is one child process that keeps its state across calls and is gone after close', async () => {
    const { connection, closed } = await open();
    for (let i = 1; i <= 3; i++) expect(textOf(await connection.client.callTool({ name: 'increment' }))).toBe(String(i));
    const { servers } = recordedPids(pidFile);
    expect(servers).toHaveLength(1);
    expect(connection.era).toBe('legacy');
    expect(connection.protocolVersion).toMatch(/^\d{4}-\d{2}-\d{2}$/);

    await connection.close(AbortSignal.timeout(2_000));
    expect(await survivors(servers)).toEqual([]);
    expect(closed).toEqual([]);
  });

  it('reports an unexpected exit through events.closed with the exit code, and reaps the group', async () => {
    const { connection, closed } = await open({ env: { EXIT_ON_CALL: '1', GRANDCHILD: '1' } });
    await connection.client.callTool({ name: 'crash' });
    await until(() => closed.length > 0, 'events.closed');

    const reason = closed[0] as Error & { exitCode: number | null };
    expect(reason.message).toContain('exited with code 7');
    expect(reason.exitCode).toBe(7);
    expect(classifyError(reason)).toBe('process_exited');
    const { servers, grandchildren } = recordedPids(pidFile);
    expect(await survivors([...servers, ...grandchildren])).toEqual([]);
  });

  it('reports a kill by signal', async () => {
    const { closed } = await open();
    const [pid] = recordedPids(pidFile).servers;
    process.kill(pid!, 'SIGKILL');
    await until(() => closed.length > 0, 'events.closed');
    expect((closed[0] as { signalCode: unknown }).signalCode).toBe('SIGKILL');
  });

  it('forwards server notifications and streams stderr lines with the session key', async () => {
    stderr.length = 0;
    const { connection, notifications } = await open({ env: { STDERR_LINE: 'server is warming up' } });
    await connection.client.callTool({ name: 'notify' });
    await until(() => notifications.length > 0, 'a notification');
    expect(notifications).toEqual(['notifications/tools/list_changed']);
    expect(stderr).toContain('d-1: server is warming up');
  });
});

describe('teardown', () => {
  it('kills a server that ignores SIGTERM and stdin EOF once the close signal fires', async () => {
    const { connection } = await open({ env: { IGNORE_SIGTERM: '1' } });
    const { servers } = recordedPids(pidFile);
    const grace = new AbortController();
    const closing = connection.close(grace.signal);
    grace.abort();
    await closing;
    expect(await survivors(servers)).toEqual([]);
  });

  it('leaves no grandchild of a server started through sh -c', async () => {
    const factory = createMcpSessionFactory();
    const request = counterRequest('d-1', pidFile, { env: { GRANDCHILD: '1' } });
    const viaShell = { ...request, command: 'sh', args: ['-c', `"${process.execPath}" "${COUNTER_SERVER}"; echo done`] };
    const connection = await factory.create(createRequest(viaShell), recordingEvents().events);
    opened.push(connection);
    const { servers, parents, grandchildren } = recordedPids(pidFile);
    expect(grandchildren).toHaveLength(1);
    expect(parents[0]).not.toBe(process.pid); // the server runs under sh

    await connection.close(AbortSignal.timeout(2_000));
    expect(await survivors([...servers, ...parents, ...grandchildren])).toEqual([]);
  });

  it('kills the process at once when the creation is aborted during initialize', async () => {
    const factory = createMcpSessionFactory();
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    const creating = factory.create(createRequest(counterRequest('d-1', pidFile), controller.signal), recordingEvents().events);
    await until(() => recordedPids(pidFile).servers.length > 0, 'the process to start');
    controller.abort(reason);
    await expect(creating).rejects.toBe(reason);
    expect(await survivors(recordedPids(pidFile).servers)).toEqual([]);
  });
});

describe('failures during initialize', () => {
  it('a missing command is spawn_failed, naming only the base name', async () => {
    const factory = createMcpSessionFactory();
    const request = { ...counterRequest('d-1', pidFile), command: '/opt/nowhere/secret-dir/missing-server', args: ['--token', 'tok-abcdef'] };
    const error = await rejectionOf(factory.create(createRequest(request), recordingEvents().events));
    expect(classifyError(error)).toBe('spawn_failed');
    expect((error as unknown as Record<symbol, unknown>)[STDIO_FAILURE]).toBe('spawn_failed');
    expect(error.message).toContain('missing-server');
    expect(error.message).toContain('ENOENT');
    expect(error.message).not.toContain('secret-dir');
    expect(error.message).not.toContain('tok-abcdef');
  });

  it('a server that writes to stderr and exits is process_exited with that line, secrets scrubbed', async () => {
    const factory = createMcpSessionFactory();
    const secret = 'sk-live-0123456789';
    const request = counterRequest('d-1', pidFile, { env: { FAIL_AT_START: 'code-3', API_TOKEN: secret }, args: ['--api-key=arg-secret-42', '-v'] });
    const error = await rejectionOf(factory.create(createRequest(request), recordingEvents().events));
    expect(classifyError(error)).toBe('process_exited');
    expect((error as unknown as { exitCode: number }).exitCode).toBe(3);
    expect(error.message).toContain('exited with code 3');
    expect(error.message).toContain('fatal: cannot start; token=***');
    expect(error.message).toContain('3 args');
    expect(error.message).not.toContain(secret);
    expect(error.message).not.toContain('arg-secret-42');
    expect(error.message).not.toContain(COUNTER_SERVER);
  });
});

describe('factory options', () => {
  it.each([['inheritEnv', 'PATH'], ['inheritEnv', ['OK', 'not ok']], ['inheritEnv', [1]], ['onStderr', 'log']])(
    'rejects %s = %j',
    (name, value) => {
      expect(() => createMcpSessionFactory({ [name]: value })).toThrow(InvalidOptionsError);
    },
  );
});
