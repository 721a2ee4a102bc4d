import { describe, expect, it } from 'vitest';
import {
  CapacityError,
  CircuitOpenError,
  InvalidRequestError,
  RegistryClosedError,
  SessionCreateError,
  SessionCreateTimeoutError,
  SessionEvictedError,
  type SessionRequest,
} from '../src/index.js';
import { FakeMcpError, createSessionNotFoundError } from '../src/testing/index.js';
import { harness, type Harness } from './support/harness.js';

// SPEC §4.7 and §7: no header value and no URL credential or query value ever appears in snapshot(), any
// event payload, any log call or any error message the library builds.

const SECRET_URL = 'https://usr-SECRET:s3cret-pass@upstream.example/mcp?token=tok-SECRET&x=qv-SECRET';
/** The same endpoint with other credentials (a rotated token): used to trigger fingerprint changes. */
const OTHER_SECRET_URL = 'https://usr-SECRET:s3cret-pass@upstream.example/mcp?token=tok-SECRET-rotated&x=qv-SECRET';
const SANITIZED_URL = 'https://***:***@upstream.example/mcp?token=***&x=***';
const SECRET_HEADERS = {
  authorization: 'Bearer hdr-SECRET-123',
  'X-Api-Key': 'key-SECRET-456',
  cookie: 'sid=ck-SECRET-789',
};
const SECRETS = ['usr-SECRET', 's3cret-pass', 'tok-SECRET', 'qv-SECRET', 'hdr-SECRET-123', 'key-SECRET-456', 'ck-SECRET-789'];

const REQUEST: SessionRequest = {
  downstreamSessionId: 'down-1',
  upstreamId: 'up-1',
  url: SECRET_URL,
  headers: SECRET_HEADERS,
};

/** Serializes anything, including every Error's name, message, String(), stack, own fields and cause chain. */
function dump(value: unknown): string {
  const seen = new WeakSet<object>();
  const walk = (v: unknown): unknown => {
    if (typeof v === 'bigint' || typeof v === 'symbol' || typeof v === 'function') return String(v);
    if (typeof v !== 'object' || v === null) return v;
    if (seen.has(v)) return '[circular]';
    seen.add(v);
    if (v instanceof Error) {
      const out: Record<string, unknown> = {
        string: String(v),
        name: v.name,
        message: v.message,
        stack: v.stack,
        cause: walk(v.cause),
      };
      for (const [k, x] of Object.entries(v)) out[k] = walk(x);
      if (v instanceof AggregateError) out.errors = walk(v.errors);
      return out;
    }
    if (Array.isArray(v)) return v.map(walk);
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = walk(x);
    return out;
  };
  return JSON.stringify(walk(value));
}

function expectNoSecrets(text: string): void {
  for (const secret of SECRETS) expect(text).not.toContain(secret);
  expect(text).not.toMatch(/secret/i);
}

/** Closes the registry (driving the clock), then checks everything captured for secrets. */
async function finish(c: Harness, scanAll = true): Promise<string> {
  c.snapshots.push(c.registry.snapshot());
  await c.shutdown();
  c.snapshots.push(c.registry.snapshot());
  const text = dump({ logs: c.logs, events: c.events.records, errors: c.errors, snapshots: c.snapshots });
  if (scanAll) expectNoSecrets(text);
  return text;
}

function eventNames(c: Harness): string[] {
  return c.events.records.map((e) => e.event);
}

describe('no secret in snapshots, events, logs or errors', () => {
  it('the test inputs really carry the secrets (the factory receives them)', async () => {
    const c = harness();
    const lease = await c.registry.acquire(REQUEST);
    const request = c.factory.requests[0]!;
    if (request.transport === 'stdio') throw new Error('expected an HTTP request');
    expect(request.url).toBe(SECRET_URL);
    expect(request.headers).toEqual({
      authorization: 'Bearer hdr-SECRET-123',
      'x-api-key': 'key-SECRET-456',
      cookie: 'sid=ck-SECRET-789',
    });
    // The scanner sees what it must: header values in plain objects, URLs in error messages and causes.
    expect(() => expectNoSecrets(dump(c.factory.requests))).toThrow();
    expect(() => expectNoSecrets(dump(new SessionCreateError('up-1', 'unknown', new Error(SECRET_URL))))).toThrow();
    expect(() => expectNoSecrets(dump({ nested: [{ error: new Error('x', { cause: 'tok-SECRET' }) }] }))).toThrow();
    lease.release();
    await finish(c);
  });

  it('on creation, reuse, a healthy probe and withSession', async () => {
    const c = harness();
    const lease = await c.registry.acquire(REQUEST);
    c.snapshots.push(c.registry.snapshot(), lease.info);
    lease.release();
    await c.registry.withSession(REQUEST, (client, info) => {
      c.snapshots.push(info);
      return client.callTool({ name: 'increment' });
    });
    await c.clock.advance(60_001);
    await c.registry.withSession(REQUEST, (client) => client.ping());
    const text = await finish(c);
    expect(eventNames(c)).toEqual(expect.arrayContaining(['session:created', 'session:reused', 'probe', 'session:evicted']));
    expect(c.logs.length).toBeGreaterThan(0);
    expect(text).toContain(SANITIZED_URL);
    expect(c.registry.snapshot().entries).toEqual([]);
    expect(c.snapshots).toContainEqual(expect.objectContaining({ url: SANITIZED_URL }));
  });

  it('on creation failure', async () => {
    const c = harness();
    c.factory.nextCreate('fail');
    c.factory.nextCreate(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    c.factory.nextCreate(new TypeError('fetch failed', { cause: Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }) }));
    for (let i = 0; i < 3; i += 1) {
      const error = await c.rejection(c.registry.acquire(REQUEST));
      expect(error).toBeInstanceOf(SessionCreateError);
    }
    c.snapshots.push(c.registry.snapshot());
    await finish(c);
    expect(eventNames(c).filter((e) => e === 'session:create-failed')).toHaveLength(3);
    expect(c.logs.some((l) => l.level === 'warn')).toBe(true);
  });

  it('on creation timeout', async () => {
    const c = harness({ createTimeoutMs: 1_000 });
    c.factory.nextCreate('hang');
    const pending = c.rejection(c.registry.acquire(REQUEST));
    await c.clock.advance(1_000);
    expect(await pending).toBeInstanceOf(SessionCreateTimeoutError);
    await finish(c);
    expect(eventNames(c)).toContain('session:create-failed');
  });

  it('on probe failure (broken transport, timeout, other MCP error)', async () => {
    const c = harness({ probeTimeoutMs: 1_000 });
    const behaviors = ['broken', 'timeout', new FakeMcpError(-32603, 'Internal error')] as const;
    (await c.registry.acquire(REQUEST)).release();
    for (const behavior of behaviors) {
      const conn = c.factory.created.at(-1)!;
      await c.clock.advance(60_001);
      conn.client.script.ping = behavior;
      const acquiring = c.registry.acquire(REQUEST);
      await c.clock.advance(1_000);
      (await acquiring).release();
    }
    expect(c.factory.createCalls).toBe(4);
    const text = await finish(c);
    expect(c.events.records.filter((e) => e.event === 'probe')).toHaveLength(3);
    expect(c.registry.snapshot().evictionsByReason['probe-failed']).toBe(3);
    expect(text).toContain('probe-failed');
  });

  it('on every kind of eviction', async () => {
    const c = harness({ idleTtlMs: 0 });
    const other = { ...REQUEST, upstreamId: 'up-2' };
    // evict, session, upstream
    (await c.registry.acquire(REQUEST)).release();
    await c.registry.evict(REQUEST);
    (await c.registry.acquire(REQUEST)).release();
    (await c.registry.acquire(other)).release();
    await c.registry.evictSession('down-1');
    (await c.registry.acquire(REQUEST)).release();
    await c.registry.evictUpstream('up-1');
    // transport-closed
    (await c.registry.acquire(REQUEST)).release();
    c.factory.created.at(-1)!.dropTransport();
    await c.clock.flush();
    // transport-error
    const lease = await c.registry.acquire(REQUEST);
    lease.release(createSessionNotFoundError());
    await c.clock.flush();
    // fingerprint-changed (rotated credentials in the URL)
    (await c.registry.acquire(REQUEST)).release();
    (await c.registry.acquire({ ...REQUEST, url: OTHER_SECRET_URL })).release();
    // a draining session with an open lease shows up in the snapshot
    const held = await c.registry.acquire(REQUEST);
    const evicting = c.registry.evict(REQUEST);
    c.snapshots.push(c.registry.snapshot());
    held.release();
    await evicting;
    // close-all
    (await c.registry.acquire(REQUEST)).release();
    await finish(c);
    const reasons = c.events.records.filter((e) => e.event === 'session:evicted').map((e) => (e.payload as { reason: string }).reason);
    expect(new Set(reasons)).toEqual(
      new Set(['evict', 'session', 'upstream', 'transport-closed', 'transport-error', 'fingerprint-changed', 'close-all']),
    );
  });

  it('on idle, max-age and capacity eviction', async () => {
    const idle = harness({ idleTtlMs: 1_000 });
    (await idle.registry.acquire(REQUEST)).release();
    await idle.clock.advance(1_000);
    expect(idle.registry.snapshot().evictionsByReason.idle).toBe(1);
    await finish(idle);

    const aged = harness({ maxAgeMs: 1_000 });
    (await aged.registry.acquire(REQUEST)).release();
    await aged.clock.advance(1_000);
    expect(aged.registry.snapshot().evictionsByReason['max-age']).toBe(1);
    await finish(aged);

    const full = harness({ maxSessions: 1 });
    (await full.registry.acquire(REQUEST)).release();
    (await full.registry.acquire({ ...REQUEST, downstreamSessionId: 'down-2' })).release();
    expect(full.registry.snapshot().evictionsByReason.capacity).toBe(1);
    await finish(full);
  });

  it('on close failure and close timeout', async () => {
    const c = harness({ closeTimeoutMs: 1_000 });
    (await c.registry.acquire(REQUEST)).release();
    c.factory.created[0]!.closeBehavior = 'fail';
    await c.registry.evict(REQUEST);
    (await c.registry.acquire(REQUEST)).release();
    c.factory.created[1]!.closeBehavior = 'hang-ignoring-signal';
    const evicting = c.registry.evict(REQUEST);
    await c.clock.advance(2_000);
    await evicting;
    expect(c.registry.snapshot().counters.closeTimeouts).toBe(1);
    (await c.registry.acquire(REQUEST)).release();
    c.factory.script.close = 'hang-ignoring-signal';
    await finish(c);
    expect(eventNames(c).filter((e) => e === 'close:timeout')).toHaveLength(2);
    expect(c.logs.filter((l) => l.level === 'warn').length).toBeGreaterThanOrEqual(3);
  });

  it('when the circuit opens, fails fast and closes again', async () => {
    const c = harness({ circuitBreaker: { failureThreshold: 2, resetMs: 1_000 } });
    c.factory.script.create = 'fail';
    await c.rejection(c.registry.acquire(REQUEST));
    await c.rejection(c.registry.acquire(REQUEST));
    const open = await c.rejection(c.registry.acquire(REQUEST));
    expect(open).toBeInstanceOf(CircuitOpenError);
    c.snapshots.push(c.registry.snapshot());
    await c.clock.advance(1_000);
    c.factory.script.create = 'ok';
    (await c.registry.acquire(REQUEST)).release();
    await finish(c);
    expect(eventNames(c)).toEqual(expect.arrayContaining(['circuit:open', 'circuit:close']));
  });

  it('on a capacity error', async () => {
    const c = harness({ maxSessions: 1, maxSessionsPerUpstream: 1 });
    const held = await c.registry.acquire(REQUEST);
    expect(await c.rejection(c.registry.acquire({ ...REQUEST, downstreamSessionId: 'down-2' }))).toBeInstanceOf(CapacityError);
    held.release();
    await finish(c);
  });

  it('when creation is evicted or the registry closes while creating', async () => {
    const c = harness();
    c.factory.nextCreate('hang');
    const evicted = c.rejection(c.registry.acquire(REQUEST));
    await c.clock.flush();
    await c.registry.evict(REQUEST);
    expect(await evicted).toBeInstanceOf(SessionEvictedError);
    c.factory.nextCreate('hang');
    const closed = c.rejection(c.registry.acquire(REQUEST));
    await c.clock.flush();
    c.snapshots.push(c.registry.snapshot());
    await finish(c);
    expect(await closed).toBeInstanceOf(RegistryClosedError);
    expect(await c.rejection(c.registry.acquire(REQUEST))).toBeInstanceOf(RegistryClosedError);
    expectNoSecrets(dump(c.errors));
  });

  it('on notifications and list changes', async () => {
    const c = harness();
    (await c.registry.acquire(REQUEST)).release();
    c.factory.created[0]!.notify('notifications/tools/list_changed');
    c.factory.created[0]!.notify('notifications/message', { level: 'info', data: 'hello' });
    await c.clock.advance(1_000);
    await finish(c);
    expect(eventNames(c)).toEqual(expect.arrayContaining(['notification', 'upstream:list-changed']));
  });
});

describe('invalid input is rejected without echoing it', () => {
  for (const [label, value] of [
    ['CRLF', 'Bearer hdr-SECRET-123\r\nX-Injected: 1'],
    ['LF', 'Bearer hdr-SECRET-123\n'],
    ['CR', 'Bearer hdr-SECRET-123\r'],
    ['NUL', 'Bearer hdr-SECRET-123\0'],
  ] as const) {
    it(`a header value with ${label}: the error names the header, never its value`, async () => {
      const c = harness();
      const error = await c.rejection(c.registry.acquire({ ...REQUEST, headers: { ...SECRET_HEADERS, authorization: value } }));
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect((error as InvalidRequestError).message).toContain('authorization');
      expect(c.factory.createCalls).toBe(0);
      await finish(c);
    });
  }

  it('an invalid header name is not echoed either (it may be a value pasted in the wrong place)', async () => {
    const c = harness();
    const error = await c.rejection(c.registry.acquire({ ...REQUEST, headers: { 'Bearer hdr-SECRET-123': 'x' } }));
    expect(error).toBeInstanceOf(InvalidRequestError);
    await finish(c);
  });

  for (const [label, url] of [
    ['a URL with credentials and a broken host', 'https://usr-SECRET:s3cret-pass@[upstream/mcp?token=tok-SECRET'],
    ['a relative URL with a query', '/mcp?token=tok-SECRET&x=qv-SECRET'],
    ['free text', 'usr-SECRET s3cret-pass tok-SECRET'],
  ] as const) {
    it(`an invalid url (${label}): the error never repeats it`, async () => {
      const c = harness();
      const error = await c.rejection(c.registry.acquire({ ...REQUEST, url }));
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect((error as InvalidRequestError).field).toBe('url');
      await finish(c);
    });
  }

  it('an invalid url on a key that already has a session: the error never repeats it', async () => {
    const c = harness();
    (await c.registry.acquire(REQUEST)).release();
    const error = await c.rejection(c.registry.acquire({ ...REQUEST, url: 'https://usr-SECRET:s3cret-pass@[x/?token=tok-SECRET' }));
    expect(error).toBeInstanceOf(InvalidRequestError);
    await finish(c);
  });
});

describe('upstream errors that quote the URL or a header value are redacted before they reach logs', () => {
  // These errors come from the host's factory or the upstream; the registry passes them through unchanged
  // as `cause` and as the `error` field of `session:create-failed` / `probe` events (the host owns them),
  // but its own messages and every log call must not repeat the secrets they carry.
  it('creation (quoting the URL or a header value), probe, transport-closed and close errors', async () => {
    const c = harness({ probeTimeoutMs: 1_000 });
    c.factory.nextCreate(new Error(`Error POSTing to endpoint ${SECRET_URL}: connect ECONNREFUSED`));
    const createError = await c.rejection(c.registry.acquire(REQUEST));
    expect(createError).toBeInstanceOf(SessionCreateError);
    c.factory.nextCreate(new Error('HTTP 401: credentials "Bearer hdr-SECRET-123" and key-SECRET-456 were rejected'));
    const authError = await c.rejection(c.registry.acquire(REQUEST));
    expect(authError).toBeInstanceOf(SessionCreateError);

    (await c.registry.acquire(REQUEST)).release();
    await c.clock.advance(60_001);
    c.factory.created[0]!.client.script.ping = new FakeMcpError(-32603, `upstream ${SECRET_URL} failed`);
    (await c.registry.acquire(REQUEST)).release();
    expect(c.registry.snapshot().counters.probeFailures).toBe(1);

    c.factory.created[1]!.closeBehavior = new Error(`DELETE ${SECRET_URL} failed.`);
    c.factory.created[1]!.dropTransport(new Error(`socket closed by ${SECRET_URL}`));
    await c.clock.flush();
    expect(c.registry.snapshot().evictionsByReason['transport-closed']).toBe(1);

    await finish(c, false);
    expectNoSecrets(dump({ logs: c.logs, snapshots: c.snapshots }));
    const logText = dump(c.logs);
    expectNoSecrets(logText);
    expect(logText).toContain(SANITIZED_URL);
    for (const error of c.errors) {
      expectNoSecrets((error as Error).message);
      expectNoSecrets(String(error));
    }
    expect(c.logs.map((l) => l.message)).toEqual(
      expect.arrayContaining([expect.stringMatching(/creation failed/), expect.stringMatching(/probe failed/)]),
    );
  });
});

describe('an upstream that echoes the request back leaks nothing into messages or logs the library builds', () => {
  // SPEC §7: relative paths with queries are redacted like URLs, `Bearer …` tokens are redacted, and every
  // header value of the request is scrubbed from every message and log the library writes (creation, probe,
  // transport closed). Raw `cause` objects stay as they were: they are the host's to redact.
  const ECHO_REQUEST: SessionRequest = {
    downstreamSessionId: 'down-echo',
    upstreamId: 'up-echo',
    url: 'https://upstream.example/mcp',
    headers: { authorization: 'Bearer hdr-SECRET-123', 'x-api-key': 'key-SECRET-456' },
  };
  const echoed = [
    'Cannot POST /mcp?api_key=ak-SECRET-1&tenant=t-SECRET-2',
    'token expired: Bearer hdr-SECRET-123',
    'invalid key key-SECRET-456 for GET /mcp?token=tk-SECRET-3',
    'upstream said: {"error":"bad credentials","echo":"Bearer eyJ-SECRET.payload.sig"}',
  ];

  it('on creation failure: the SessionCreateError message and the logs', async () => {
    const c = harness();
    for (const text of echoed) {
      c.factory.nextCreate(new Error(text));
      const error = await c.rejection(c.registry.acquire(ECHO_REQUEST));
      expect(error).toBeInstanceOf(SessionCreateError);
      expectNoSecrets((error as Error).message);
      expect((error as Error).message).toMatch(/\*\*\*/);
      expect(((error as Error).cause as Error).message).toBe(text); // the raw cause is kept for the host
    }
    await finish(c, false);
    expectNoSecrets(dump({ logs: c.logs, snapshots: c.snapshots }));
  });

  it('on probe failure and transport close', async () => {
    const c = harness({ probeTimeoutMs: 1_000 });
    (await c.registry.acquire(ECHO_REQUEST)).release();
    await c.clock.advance(60_001);
    c.factory.created[0]!.client.script.ping = new FakeMcpError(-32603, echoed[0]!);
    (await c.registry.acquire(ECHO_REQUEST)).release();
    expect(c.registry.snapshot().counters.probeFailures).toBe(1);
    c.factory.created[1]!.dropTransport(new Error(echoed[1]));
    await c.clock.flush();
    c.factory.nextCreate(new Error(echoed[2]));
    await c.rejection(c.registry.acquire(ECHO_REQUEST));
    await finish(c, false);
    expectNoSecrets(dump({ logs: c.logs, snapshots: c.snapshots }));
    for (const error of c.errors) expectNoSecrets(String(error));
  });
});
