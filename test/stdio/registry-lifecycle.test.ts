// stdio sessions through the registry (SPEC §9): environment isolation, complete teardown on closeAll and
// eviction, unexpected exits, failures during initialize, input rules and the per-upstream process bound.
// Every test tracks the pids its processes recorded and asserts they are gone.
import { realpathSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { type Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  CapacityError,
  InvalidRequestError,
  SessionCreateError,
  UpstreamSessionRegistry,
  createMcpSessionFactory,
  type McpSessionFactoryOptions,
  type RegistryOptions,
  type SessionLease,
} from '../../src/index.js';
import { type StdioSessionRequest } from '../../src/types.js';
import { COUNTER_SERVER, counterRequest, recordedPids, reap, rejectionOf, survivors, tempDir, textOf, until } from './helpers.js';

let dir = tempDir();
let pidFile = dir.file('pids');
const registries: UpstreamSessionRegistry[] = [];

// Every test: once its registries are closed, nothing it started may still run.
afterEach(async () => {
  await Promise.all(registries.splice(0).map((r) => r.closeAll()));
  const { servers, parents, grandchildren } = recordedPids(pidFile);
  const left = await survivors([...servers, ...grandchildren, ...parents.filter((pid) => pid !== process.pid)]);
  reap(left);
  dir.cleanup();
  dir = tempDir();
  pidFile = dir.file('pids');
  expect(left).toEqual([]);
});

function registry(factory: McpSessionFactoryOptions = {}, options: Omit<RegistryOptions<Client>, 'sessionFactory'> = {}): UpstreamSessionRegistry {
  const created = new UpstreamSessionRegistry({ sessionFactory: createMcpSessionFactory(factory), closeTimeoutMs: 500, ...options });
  registries.push(created);
  return created;
}

const call = (sessions: UpstreamSessionRegistry, request: StdioSessionRequest, name: string, args?: Record<string, unknown>) =>
  sessions.withSession(request, async (client) => textOf(await client.callTool({ name, ...(args && { arguments: args }) })));

describe('environment', () => {
  it("never shows the child the gateway's secrets; it sees PATH, inheritEnv names and the request's env", async () => {
    process.env.GATEWAY_SECRET_FOR_TEST = 'gw-secret-value';
    process.env.GATEWAY_SHARED_FOR_TEST = 'shared-value';
    try {
      const sessions = registry({ inheritEnv: ['GATEWAY_SHARED_FOR_TEST'] });
      const request = counterRequest('d-1', pidFile, { env: { UPSTREAM_TOKEN: 'per-session-token' } });
      const env = (name: string) => call(sessions, request, 'env', { name });
      expect(await env('GATEWAY_SECRET_FOR_TEST')).toBe('<unset>');
      expect(await env('PATH')).toBe(process.env.PATH);
      expect(await env('UPSTREAM_TOKEN')).toBe('per-session-token');
      expect(await env('GATEWAY_SHARED_FOR_TEST')).toBe('shared-value');
    } finally {
      delete process.env.GATEWAY_SECRET_FOR_TEST;
      delete process.env.GATEWAY_SHARED_FOR_TEST;
    }
  });

  it("starts the child in the request's cwd", async () => {
    const sessions = registry();
    expect(await call(sessions, { ...counterRequest('d-1', pidFile), cwd: dir.path }, 'cwd')).toBe(realpathSync(dir.path));
  });
});

describe('teardown', () => {
  it('leaves nothing after closeAll: a grandchild of sh -c, and a server that ignores SIGTERM', async () => {
    const sessions = registry();
    const viaShell: StdioSessionRequest = {
      ...counterRequest('d-shell', pidFile, { env: { GRANDCHILD: '1' } }),
      command: 'sh',
      args: ['-c', `"${process.execPath}" "${COUNTER_SERVER}"; echo done`],
    };
    const stubborn = counterRequest('d-stubborn', pidFile, { env: { IGNORE_SIGTERM: '1' } });
    const plain = counterRequest('d-plain', pidFile);
    for (const request of [viaShell, stubborn, plain]) await call(sessions, request, 'increment');
    const { servers, parents, grandchildren } = recordedPids(pidFile);
    expect(servers).toHaveLength(3);
    expect(grandchildren).toHaveLength(1);

    await sessions.closeAll();
    const shells = parents.filter((pid) => pid !== process.pid);
    expect(shells).toHaveLength(1);
    expect(await survivors([...servers, ...shells, ...grandchildren])).toEqual([]);
    expect(sessions.snapshot().counters.closeTimeouts).toBe(0);
  });

  it('kills a SIGTERM-ignoring server within the bound even with a short closeTimeoutMs', async () => {
    const sessions = registry({}, { closeTimeoutMs: 100 });
    await call(sessions, counterRequest('d-stubborn', pidFile, { env: { IGNORE_SIGTERM: '1', GRANDCHILD: '1' } }), 'increment');
    await sessions.closeAll();
    const { servers, grandchildren } = recordedPids(pidFile);
    expect(await survivors([...servers, ...grandchildren])).toEqual([]);
    expect(sessions.snapshot().counters.closeTimeouts).toBe(0);
  });

  it('kills the process of a creation that closeAll or the create timeout abandons', async () => {
    const sessions = registry({}, { createTimeoutMs: 20_000 });
    const hanging = rejectionOf(sessions.acquire(counterRequest('d-hang', pidFile, { env: { SILENT: '1', IGNORE_SIGTERM: '1' } })));
    const timeoutPids = dir.file('timeout-pids');
    const timedOut = registry({}, { createTimeoutMs: 300 }).acquire(
      counterRequest('d-timeout', pidFile, { env: { SILENT: '1', PID_FILE: timeoutPids } }),
    );
    await expect(timedOut).rejects.toMatchObject({ code: 'CREATE_TIMEOUT' });
    await until(() => recordedPids(pidFile).servers.length === 1, 'the hanging process to start');

    await sessions.closeAll();
    expect(await hanging).toMatchObject({ code: 'REGISTRY_CLOSED' });
    expect(await survivors([...recordedPids(pidFile).servers, ...recordedPids(timeoutPids).servers])).toEqual([]);
  });

  it('kills the process of an evicted session', async () => {
    const sessions = registry();
    const request = counterRequest('d-1', pidFile, { env: { GRANDCHILD: '1' } });
    await call(sessions, request, 'increment');
    const evicted = new Promise((resolve) => sessions.once('session:evicted', resolve));
    expect(await sessions.evict(request)).toBe(true);
    await evicted;
    await sessions.closeAll(); // waits for the close the eviction started
    const { servers, grandchildren } = recordedPids(pidFile);
    expect(await survivors([...servers, ...grandchildren])).toEqual([]);
  });
});

describe('unexpected exit', () => {
  it('evicts the session (transport-closed) and the next call gets a fresh process', async () => {
    const sessions = registry();
    const request = counterRequest('d-1', pidFile);
    expect(await call(sessions, request, 'increment')).toBe('1');
    expect(await call(sessions, request, 'increment')).toBe('2');
    const evicted = new Promise<{ reason: string }>((resolve) => sessions.once('session:evicted', resolve));
    const [first] = recordedPids(pidFile).servers;
    process.kill(first!, 'SIGKILL');
    expect((await evicted).reason).toBe('transport-closed');

    expect(await call(sessions, request, 'increment')).toBe('1');
    const { servers } = recordedPids(pidFile);
    expect(servers).toHaveLength(2);
    await sessions.closeAll();
    expect(await survivors(servers)).toEqual([]);
  });
});

describe('failures during initialize', () => {
  it('a missing command fails with spawn_failed', async () => {
    const sessions = registry();
    const request: StdioSessionRequest = { ...counterRequest('d-1', pidFile), command: '/nonexistent/bin/mcp-missing' };
    const error = await rejectionOf(call(sessions, request, 'increment'));
    expect(error).toBeInstanceOf(SessionCreateError);
    expect((error as SessionCreateError).category).toBe('spawn_failed');
    expect(error.message).toContain('mcp-missing');
    expect(error.message).not.toContain('/nonexistent/bin');
  });

  it('stderr and exit during initialize → process_exited with that line, but no env value and no secret arg', async () => {
    const sessions = registry();
    const secret = 'sk-live-9f8e7d6c5b4a';
    const request = counterRequest('d-1', pidFile, { env: { FAIL_AT_START: 'code-2', API_TOKEN: secret }, args: ['--key', 'secret-arg-value'] });
    const error = await rejectionOf(call(sessions, request, 'increment'));
    expect(error).toBeInstanceOf(SessionCreateError);
    expect((error as SessionCreateError).category).toBe('process_exited');
    expect(error.message).toContain('fatal: cannot start; token=');
    expect(error.message).toContain('exited with code 2');
    expect(error.message).not.toContain(secret);
    expect(error.message).not.toContain('secret-arg-value');
    expect(error.message).not.toContain(COUNTER_SERVER);
  });
});

describe('input rules (SPEC §7) are checked before anything is spawned', () => {
  const base = () => counterRequest('d-1', pidFile);
  it.each<[string, () => unknown]>([
    ['an empty command', () => ({ ...base(), command: '' })],
    ['a command with NUL', () => ({ ...base(), command: 'node\0' })],
    ['args that are not an array', () => ({ ...base(), args: 'server.js' })],
    ['an arg with NUL', () => ({ ...base(), args: [COUNTER_SERVER, 'a\0b'] })],
    ['an env name that is not a variable name', () => ({ ...base(), env: { PID_FILE: pidFile, 'BAD-NAME': 'x' } })],
    ['an env value with NUL', () => ({ ...base(), env: { PID_FILE: pidFile, X: 'a\0' } })],
    ['an env value that is not a string', () => ({ ...base(), env: { PID_FILE: pidFile, X: 1 } })],
    ['a cwd that is not a string', () => ({ ...base(), cwd: 42 })],
    ['a url on a stdio request', () => ({ ...base(), url: 'http://127.0.0.1:9/mcp' })],
    ['headers on a stdio request', () => ({ ...base(), headers: { authorization: 'x' } })],
    ['a command on an HTTP request', () => ({ downstreamSessionId: 'd-1', upstreamId: 'u', url: 'http://127.0.0.1:9/mcp', command: 'node' })],
  ])('%s', async (_name, make) => {
    const sessions = registry();
    await expect(sessions.acquire(make() as StdioSessionRequest)).rejects.toBeInstanceOf(InvalidRequestError);
    expect(sessions.snapshot().counters.creates + sessions.snapshot().counters.createFailures).toBe(0);
    expect(recordedPids(pidFile).servers).toEqual([]);
  });
});

describe('maxSessionsPerUpstream bounds the processes of an upstream', () => {
  it('5 downstream sessions with a limit of 3: at most 3 processes, LRU idle eviction, then CapacityError', async () => {
    const sessions = registry({}, { maxSessionsPerUpstream: 3 });
    const live = async () => (await Promise.all(recordedPids(pidFile).servers.map(async (pid) => (await survivors([pid], 0)).length))).reduce((a, b) => a + b, 0);
    let most = 0;
    const evictions: string[] = [];
    sessions.on('session:evicted', (event) => evictions.push(`${event.key.downstreamSessionId}:${event.reason}`));
    for (const id of ['s1', 's2', 's3', 's4', 's5']) {
      await call(sessions, counterRequest(id, pidFile), 'increment');
      most = Math.max(most, await live());
    }
    expect(recordedPids(pidFile).servers).toHaveLength(5);
    expect(evictions).toEqual(['s1:capacity', 's2:capacity']);
    expect(sessions.size).toBe(3);
    expect(most).toBeLessThanOrEqual(3);

    const leases: SessionLease<Client>[] = [];
    for (const id of ['s3', 's4', 's5']) leases.push(await sessions.acquire(counterRequest(id, pidFile)));
    await expect(sessions.acquire(counterRequest('s6', pidFile))).rejects.toBeInstanceOf(CapacityError);
    for (const lease of leases) lease.release();
    expect(recordedPids(pidFile).servers).toHaveLength(5);

    await sessions.closeAll();
    expect(await survivors(recordedPids(pidFile).servers)).toEqual([]);
  });
});
