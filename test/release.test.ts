/**
 * Errors during use (SPEC §4.4; issue #2 item 6): `lease.release(error)` and `withSession` evict the session on a
 * transport-level error (reason `transport-error`) and leave it in place on tool, validation and application
 * errors. Releases are idempotent; `await using` and `withSession` always release.
 */
import { createServer } from 'node:net';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type SessionKey, type SessionRequest } from '../src/index.js';
import { FakeMcpError, createConnectionClosedError } from '../src/testing/index.js';
import { harness } from './support/harness.js';

const request: SessionRequest = { downstreamSessionId: 'A', upstreamId: 'counter', url: 'http://127.0.0.1:3001/mcp' };
const key: SessionKey = { downstreamSessionId: 'A', upstreamId: 'counter' };

/** A Node system error as `net`/undici report it. */
function systemError(code: string, message: string, syscall: string): Error {
  return Object.assign(new Error(message), { code, syscall });
}

/** undici's `TypeError: fetch failed`, with the socket error as its cause. */
function fetchFailed(cause: Error): TypeError {
  return new TypeError('fetch failed', { cause });
}

const transportErrors: [string, () => unknown][] = [
  ['McpError -32000 (connection closed)', () => new McpError(ErrorCode.ConnectionClosed, 'Connection closed')],
  ['a -32000-shaped error', () => createConnectionClosedError()],
  [
    'a real SDK StreamableHTTPError with HTTP 404',
    () => new StreamableHTTPError(404, 'Error POSTing to endpoint: {"jsonrpc":"2.0","error":{"code":-32001,"message":"Session not found"},"id":null}'),
  ],
  ["Error('Session not found')", () => new Error('Session not found')],
  [
    "TypeError('fetch failed') caused by ECONNREFUSED",
    () => fetchFailed(systemError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:3001', 'connect')),
  ],
  ["TypeError('fetch failed') caused by ECONNRESET", () => fetchFailed(systemError('ECONNRESET', 'read ECONNRESET', 'read'))],
  [
    "TypeError('fetch failed') caused by an undici socket error",
    () => fetchFailed(Object.assign(new Error('other side closed'), { name: 'SocketError', code: 'UND_ERR_SOCKET' })),
  ],
];

function zodValidationError(): unknown {
  const parsed = z.object({ by: z.number().int() }).safeParse({ by: 'one' });
  return parsed.error;
}

const keptErrors: [string, () => unknown][] = [
  ['McpError -32602 (invalid params, a tool error)', () => new McpError(ErrorCode.InvalidParams, 'Invalid arguments for tool increment')],
  ['McpError -32603 (internal error)', () => new McpError(ErrorCode.InternalError, 'Tool crashed')],
  ['a -32602-shaped error', () => new FakeMcpError(-32602, 'Invalid params')],
  ['a -32603-shaped error', () => new FakeMcpError(-32603, 'Internal error')],
  ['a CallToolResult with isError', () => ({ content: [{ type: 'text', text: 'Tool increment failed' }], isError: true })],
  ['a zod validation error', zodValidationError],
  ['a plain application error', () => new Error('Quota exceeded for this account')],
  ['a thrown string', () => 'something went wrong'],
  ['null', () => null],
];

describe('release(error) and withSession: transport errors evict the session (reason transport-error)', () => {
  it.each(transportErrors)('release(%s) evicts the session so the next acquire builds a new one', async (_name, makeError) => {
    const { clock, factory, registry, evicted, shutdown } = harness();
    const lease = await registry.acquire(request);
    const old = factory.created[0]!;

    lease.release(makeError());
    await clock.flush();

    expect(evicted()).toEqual([{ key, reason: 'transport-error' }]);
    expect(registry.snapshot().evictionsByReason['transport-error']).toBe(1);
    expect(registry.size).toBe(0);
    expect(old.closeCalls).toBe(1);
    const next = await registry.acquire(request);
    expect(next.client).not.toBe(old.client);
    expect(factory.createCalls).toBe(2);
    next.release();
    await shutdown();
  });

  it.each(transportErrors)('withSession rejecting with %s evicts the session and rethrows the error', async (_name, makeError) => {
    const { clock, factory, registry, evicted, shutdown } = harness();
    const error = makeError();

    await expect(
      registry.withSession(request, () => {
        throw error;
      }),
    ).rejects.toBe(error);
    await clock.flush();

    expect(evicted()).toEqual([{ key, reason: 'transport-error' }]);
    expect(factory.created[0]!.closeCalls).toBe(1);
    expect(registry.snapshot().inFlight).toBe(0);
    await registry.withSession(request, () => undefined);
    expect(factory.createCalls).toBe(2);
    await shutdown();
  });

  it('evicts on a real fetch failure against a closed port', async () => {
    const { clock, factory, registry, evicted, shutdown } = harness();
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('expected a TCP address');
    await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));

    const error: unknown = await registry.withSession(request, () => fetch(`http://127.0.0.1:${address.port}/mcp`)).catch((e: unknown) => e);
    await clock.flush();

    expect(error).toMatchObject({ name: 'TypeError', message: 'fetch failed' });
    expect(evicted()).toEqual([{ key, reason: 'transport-error' }]);
    expect(factory.created[0]!.closeCalls).toBe(1);
    await shutdown();
  });

  it('evicts for new acquires at once when one of several open leases fails, and closes the old session once they are released', async () => {
    const { clock, factory, registry, evicted, shutdown } = harness();
    const failing = await registry.acquire(request);
    const other = await registry.acquire(request);
    const old = factory.created[0]!;

    failing.release(createConnectionClosedError());
    const next = await registry.acquire(request);

    expect(evicted()).toEqual([{ key, reason: 'transport-error' }]);
    expect(next.client).not.toBe(old.client);
    other.release();
    await clock.flush();
    expect(old.closeCalls).toBe(1);
    next.release();
    await shutdown();
  });
});

describe('release(error) and withSession: tool, validation and application errors leave the session in place', () => {
  it.each(keptErrors)('release(%s) keeps the session', async (_name, makeError) => {
    const { clock, factory, registry, evicted, shutdown } = harness();
    const lease = await registry.acquire(request);

    lease.release(makeError());
    await clock.flush();

    expect(evicted()).toEqual([]);
    expect(registry.size).toBe(1);
    expect(factory.created[0]!.closed).toBe(false);
    const next = await registry.acquire(request);
    expect(next.client).toBe(lease.client);
    expect(factory.createCalls).toBe(1);
    next.release();
    await shutdown();
  });

  it.each(keptErrors)('withSession rejecting with %s keeps the session and rethrows the error', async (_name, makeError) => {
    const { clock, factory, registry, evicted, shutdown } = harness();
    const error = makeError();

    await expect(registry.withSession(request, () => Promise.reject(error))).rejects.toBe(error);
    await clock.flush();

    expect(evicted()).toEqual([]);
    expect(registry.snapshot()).toMatchObject({ sessions: 1, inFlight: 0 });
    await registry.withSession(request, () => undefined);
    expect(factory.createCalls).toBe(1);
    await shutdown();
  });

  it('keeps the session when a tool call resolves with isError', async () => {
    const { factory, registry, evicted, shutdown } = harness();

    const result = await registry.withSession(request, (client) => client.callTool({ name: 'no-such-tool' }));

    expect(result.isError).toBe(true);
    expect(evicted()).toEqual([]);
    await registry.withSession(request, () => undefined);
    expect(factory.createCalls).toBe(1);
    await shutdown();
  });
});

describe('release is idempotent', () => {
  it('counts a lease released twice once', async () => {
    const { registry, shutdown } = harness();
    const first = await registry.acquire(request);
    const second = await registry.acquire(request);

    first.release();
    first.release();
    expect(registry.snapshot().inFlight).toBe(1);
    expect(registry.snapshot().entries[0]?.inFlight).toBe(1);

    second.release();
    expect(registry.snapshot().inFlight).toBe(0);
    await shutdown();
  });

  it('evicts and closes once when a lease is released twice with a transport error', async () => {
    const { clock, factory, registry, evicted, shutdown } = harness();
    const lease = await registry.acquire(request);

    lease.release(createConnectionClosedError());
    lease.release(createConnectionClosedError());
    await clock.flush();

    expect(evicted()).toEqual([{ key, reason: 'transport-error' }]);
    expect(factory.created[0]!.closeCalls).toBe(1);
    expect(registry.snapshot().inFlight).toBe(0);
    await shutdown();
  });

  it('ignores a transport error passed to a lease that was already released', async () => {
    const { clock, registry, evicted, shutdown } = harness();
    const lease = await registry.acquire(request);

    lease.release();
    lease.release(createConnectionClosedError());
    await clock.flush();

    expect(evicted()).toEqual([]);
    expect(registry.size).toBe(1);
    await shutdown();
  });

  it("does not evict the key's new session when a lease on the old one reports a transport error late", async () => {
    const { clock, factory, registry, evicted, shutdown } = harness();
    const stale = await registry.acquire(request);
    const evicting = registry.evict(key); // drains: settles once the stale lease is released
    const current = await registry.acquire(request);

    stale.release(createConnectionClosedError());
    await expect(evicting).resolves.toBe(true);
    await clock.flush();

    expect(evicted()).toEqual([{ key, reason: 'evict' }]);
    expect(factory.created[0]!.closeCalls).toBe(1);
    expect(registry.size).toBe(1);
    const again = await registry.acquire(request);
    expect(again.client).toBe(current.client);
    expect(factory.createCalls).toBe(2);
    current.release();
    again.release();
    await shutdown();
  });
});

describe('scoped use releases the lease', () => {
  it('await using releases the lease at the end of the block', async () => {
    const { registry, shutdown } = harness();
    {
      await using lease = await registry.acquire(request);
      await lease.client.callTool({ name: 'increment' });
      expect(registry.snapshot().inFlight).toBe(1);
    }
    expect(registry.snapshot().inFlight).toBe(0);
    expect(registry.size).toBe(1);
    await shutdown();
  });

  it('await using releases the lease when the block throws', async () => {
    const { registry, shutdown } = harness();
    const failure = new Error('handler failed');

    const run = async (): Promise<void> => {
      await using lease = await registry.acquire(request);
      await lease.client.callTool({ name: 'increment' });
      throw failure;
    };

    await expect(run()).rejects.toBe(failure);
    expect(registry.snapshot().inFlight).toBe(0);
    expect(registry.size).toBe(1);
    await shutdown();
  });

  it('withSession passes the client and info, returns the result and releases on success', async () => {
    const { factory, registry, shutdown } = harness();

    const seen = await registry.withSession(request, async (client, info) => {
      expect(registry.snapshot().inFlight).toBe(1);
      const result = await client.callTool({ name: 'increment', arguments: { by: 5 } });
      return { text: result.content[0]?.text, key: info.key, client };
    });

    expect(seen).toEqual({ text: '5', key, client: factory.created[0]!.client });
    expect(registry.snapshot().inFlight).toBe(0);
    await shutdown();
  });

  it('withSession releases and rethrows when the callback throws synchronously or rejects', async () => {
    const { registry, shutdown } = harness();
    const thrown = new Error('sync failure');
    const rejected = new Error('async failure');

    await expect(
      registry.withSession(request, () => {
        throw thrown;
      }),
    ).rejects.toBe(thrown);
    expect(registry.snapshot().inFlight).toBe(0);

    await expect(registry.withSession(request, async () => Promise.reject(rejected))).rejects.toBe(rejected);
    expect(registry.snapshot().inFlight).toBe(0);
    expect(registry.size).toBe(1);
    await shutdown();
  });
});
