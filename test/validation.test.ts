import { afterEach, describe, expect, it } from 'vitest';
import {
  InvalidOptionsError,
  InvalidRequestError,
  UpstreamSessionRegistry,
  downstreamSessionIdFromHeaders,
  type RegistryOptions,
} from '../src/index.js';
import { http } from './support/track.js';
import { type HttpSessionRequest as SessionRequest } from '../src/types.js';
import { FakeSessionFactory, type FakeUpstreamClient } from '../src/testing/index.js';
import { harness, type Harness } from './support/harness.js';

// SPEC §7: input rules. Bad input is rejected with InvalidRequestError (or InvalidOptionsError from the
// constructor) before anything is created: no factory call, no entry, no leak.

const URL_OK = 'http://127.0.0.1:9/mcp';
const BASE: SessionRequest = { downstreamSessionId: 'down-1', upstreamId: 'up-1', url: URL_OK };

/** The harness of the running test, shut down (and checked for leaks) after it. */
let current: Harness | undefined;

afterEach(async () => {
  const h = current;
  current = undefined;
  await h?.shutdown();
});

/** Asserts that nothing at all was created or recorded. */
function expectNothingCreated({ factory, registry }: Harness): void {
  expect(factory.createCalls).toBe(0);
  expect(registry.size).toBe(0);
  const snapshot = registry.snapshot();
  expect(snapshot.entries).toEqual([]);
  expect(snapshot.upstreams).toEqual([]);
  expect(snapshot.pending).toBe(0);
  expect(snapshot.inFlight).toBe(0);
  expect(snapshot.sessions).toBe(0);
}

/** Awaits `promise`, which must reject with an InvalidRequestError for `field`; returns the error. */
async function rejectsInvalid(promise: Promise<unknown>, field: string): Promise<InvalidRequestError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InvalidRequestError);
  const invalid = error as InvalidRequestError;
  expect(invalid.code).toBe('INVALID_REQUEST');
  expect(invalid.field).toBe(field);
  return invalid;
}

/** A request with one field replaced by an arbitrary (possibly ill-typed) value. */
function withField(field: string, value: unknown): SessionRequest {
  return { ...BASE, [field]: value };
}

const BAD_IDS: readonly (readonly [string, unknown])[] = [
  ['empty', ''],
  ['257 characters long', 'a'.repeat(257)],
  ['containing a space', 'a b'],
  ['containing a tab (control character)', 'a\tb'],
  ['containing NUL (control character)', 'a\0b'],
  ['containing DEL (0x7F)', 'a\x7Fb'],
  ['non-ASCII', 'sessión'],
  ['a number', 42],
  ['undefined', undefined],
  ['null', null],
  ['an object', { id: 'x' }],
];

describe('session ids (downstreamSessionId, upstreamId): 1–256 visible ASCII characters', () => {
  for (const field of ['downstreamSessionId', 'upstreamId'] as const) {
    for (const [label, value] of BAD_IDS) {
      it(`rejects a ${field} that is ${label} and creates nothing`, async () => {
        const h = (current = harness());
        await rejectsInvalid(h.registry.acquire(withField(field, value)), field);
        expectNothingCreated(h);
      });
    }

    it(`accepts a ${field} of exactly 256 visible ASCII characters, and of one character`, async () => {
      const h = (current = harness());
      const long = '!'.repeat(128) + '~'.repeat(128);
      const leaseA = await h.registry.acquire(withField(field, long));
      const leaseB = await h.registry.acquire(withField(field, 'x'));
      expect(leaseA.info.key[field]).toBe(long);
      expect(h.factory.createCalls).toBe(2);
      leaseA.release();
      leaseB.release();
    });
  }

  it('rejects a request that is not an object (field `request`)', async () => {
    const h = (current = harness());
    await rejectsInvalid(h.registry.acquire(null as unknown as SessionRequest), 'request');
    await rejectsInvalid(h.registry.acquire('down-1' as unknown as SessionRequest), 'request');
    expectNothingCreated(h);
  });

  it('rejects bad ids passed to withSession without calling fn', async () => {
    const h = (current = harness());
    let called = false;
    await rejectsInvalid(
      h.registry.withSession(withField('upstreamId', ''), () => {
        called = true;
      }),
      'upstreamId',
    );
    expect(called).toBe(false);
    expectNothingCreated(h);
  });
});

describe('url: must parse as a URL', () => {
  for (const [label, value] of [
    ['not a URL', 'not a url'],
    ['a relative path', '/mcp'],
    ['empty', ''],
    ['an unterminated IPv6 host', 'http://[::1/mcp'],
  ] as const) {
    it(`rejects a url that is ${label} and creates nothing`, async () => {
      const h = (current = harness());
      await rejectsInvalid(h.registry.acquire(withField('url', value)), 'url');
      expectNothingCreated(h);
    });
  }

  for (const [label, value] of [
    ['a number', 80],
    ['a URL object', new URL(URL_OK)],
    ['undefined', undefined],
    ['null', null],
  ] as const) {
    it(`rejects a url that is ${label} (not a string) and creates nothing`, async () => {
      const h = (current = harness());
      await rejectsInvalid(h.registry.acquire(withField('url', value)), 'url');
      expectNothingCreated(h);
    });
  }

  it('rejects a bad url for a key that already has a session, and leaves that session in place', async () => {
    const h = (current = harness());
    (await h.registry.acquire(BASE)).release();
    await rejectsInvalid(h.registry.acquire(withField('url', 'not a url')), 'url');
    expect(h.factory.createCalls).toBe(1);
    expect(h.registry.size).toBe(1);
    expect(h.factory.created[0]!.closed).toBe(false);
    expect(h.registry.snapshot().counters.evictions).toBe(0);
  });
});

describe('headers: string values without CR, LF or NUL, valid names, a plain object', () => {
  for (const [label, value] of [
    ['CR', 'Bearer abc\rdef'],
    ['LF', 'Bearer abc\ndef'],
    ['CRLF (header injection)', 'Bearer abc\r\nX-Injected: 1'],
    ['NUL', 'Bearer abc\0def'],
  ] as const) {
    it(`rejects a header value containing ${label} and creates nothing`, async () => {
      const h = (current = harness());
      const error = await rejectsInvalid(h.registry.acquire({ ...BASE, headers: { authorization: value } }), 'headers');
      expect(error.message).toContain('authorization');
      expect(error.message).not.toContain('Bearer');
      expectNothingCreated(h);
    });
  }

  for (const [label, value] of [
    ['a number', 1],
    ['an array', ['a', 'b']],
    ['undefined', undefined],
    ['null', null],
    ['an object', { v: 'x' }],
  ] as const) {
    it(`rejects a header value that is ${label} (not a string) and creates nothing`, async () => {
      const h = (current = harness());
      const headers = { 'x-trace': value } as unknown as Record<string, string>;
      await rejectsInvalid(h.registry.acquire({ ...BASE, headers }), 'headers');
      expectNothingCreated(h);
    });
  }

  for (const [label, name] of [
    ['empty', ''],
    ['containing a space', 'x trace'],
    ['containing a colon', 'x:trace'],
    ['containing CRLF', 'x-a\r\nx-b'],
    ['containing non-ASCII', 'x-tracé'],
    ['containing a slash', 'x/trace'],
  ] as const) {
    it(`rejects a header name that is ${label} (not an HTTP token) and creates nothing`, async () => {
      const h = (current = harness());
      await rejectsInvalid(h.registry.acquire({ ...BASE, headers: { [name]: 'v' } }), 'headers');
      expectNothingCreated(h);
    });
  }

  for (const [label, value] of [
    ['a string', 'authorization: Bearer x'],
    ['an array', [['authorization', 'Bearer x']]],
    ['null', null],
    ['a number', 7],
  ] as const) {
    it(`rejects headers that are ${label} (not a plain object) and creates nothing`, async () => {
      const h = (current = harness());
      await rejectsInvalid(h.registry.acquire(withField('headers', value)), 'headers');
      expectNothingCreated(h);
    });
  }

  it('accepts empty headers and header values with tabs, spaces and visible text', async () => {
    const h = (current = harness());
    const lease = await h.registry.acquire({ ...BASE, headers: { 'x-a': '', 'x-b': 'a\tb c=d; e' } });
    expect(http(h.factory.requests)[0]!.headers).toEqual({ 'x-a': '', 'x-b': 'a\tb c=d; e' });
    lease.release();
  });
});

describe('transport, fingerprint and signal types', () => {
  for (const [label, value] of [
    ['an unknown kind', 'websocket'],
    ['the wrong case', 'SSE'],
    ['empty', ''],
    ['a number', 1],
    ['null', null],
  ] as const) {
    it(`rejects a transport that is ${label} and creates nothing`, async () => {
      const h = (current = harness());
      await rejectsInvalid(h.registry.acquire(withField('transport', value)), 'transport');
      expectNothingCreated(h);
    });
  }

  for (const [label, value] of [
    ['a number', 42],
    ['an object', { version: 1 }],
    ['null', null],
  ] as const) {
    it(`rejects a fingerprint that is ${label} (not a string) and creates nothing`, async () => {
      const h = (current = harness());
      await rejectsInvalid(h.registry.acquire(withField('fingerprint', value)), 'fingerprint');
      expectNothingCreated(h);
    });
  }

  for (const [label, value] of [
    ['a plain object', { aborted: false }],
    ['an AbortController', new AbortController()],
    ['true', true],
    ['null', null],
  ] as const) {
    it(`rejects a signal that is ${label} (not an AbortSignal) and creates nothing`, async () => {
      const h = (current = harness());
      await rejectsInvalid(h.registry.acquire(withField('signal', value)), 'signal');
      expectNothingCreated(h);
    });
  }

  it('accepts both transports and a string fingerprint', async () => {
    const h = (current = harness());
    const a = await h.registry.acquire({ ...BASE, transport: 'sse', fingerprint: 'v1' });
    const b = await h.registry.acquire({ ...BASE, upstreamId: 'up-2', transport: 'streamable-http' });
    expect(h.factory.requests.map((r) => r.transport)).toEqual(['sse', 'streamable-http']);
    a.release();
    b.release();
  });
});

describe('headers the factory sees: copied, lower-cased, internal and hop-by-hop headers removed, frozen', () => {
  const REMOVED = [
    'mcp-session-id',
    'x-mcp-session-id',
    'mcp-protocol-version',
    'connection',
    'keep-alive',
    'proxy-connection',
    'transfer-encoding',
    'upgrade',
    'te',
    'trailer',
    'host',
    'content-length',
  ];

  /** Three spellings of each name: lower, UPPER and Title-Case. */
  function spellings(name: string): string[] {
    const title = name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
    return [name, name.toUpperCase(), title];
  }

  for (const name of REMOVED) {
    it(`removes \`${name}\` in any case before the factory sees it`, async () => {
      for (const [i, spelling] of spellings(name).entries()) {
        const h = (current = harness());
        const lease = await h.registry.acquire({
          ...BASE,
          downstreamSessionId: `down-${i}`,
          headers: { [spelling]: 'value', Authorization: 'Bearer t' },
        });
        expect(http(h.factory.requests)[0]!.headers).toEqual({ authorization: 'Bearer t' });
        lease.release();
        const closing = h.registry.closeAll();
        await h.clock.advance(10_000);
        await closing;
        expect(h.factory.open).toBe(0);
      }
    });
  }

  it('lower-cases header names and keeps their values exactly', async () => {
    const h = (current = harness());
    const lease = await h.registry.acquire({
      ...BASE,
      headers: { Authorization: 'Bearer AbC', 'X-Tenant-ID': 'Tenant-7', accept: 'application/json' },
    });
    expect(http(h.factory.requests)[0]!.headers).toEqual({
      authorization: 'Bearer AbC',
      'x-tenant-id': 'Tenant-7',
      accept: 'application/json',
    });
    lease.release();
  });

  it('hands the factory a frozen SessionCreateRequest with frozen headers', async () => {
    const h = (current = harness());
    const lease = await h.registry.acquire({ ...BASE, headers: { authorization: 'Bearer t' } });
    const request = http(h.factory.requests)[0]!;
    expect(Object.isFrozen(request)).toBe(true);
    expect(Object.isFrozen(request.headers)).toBe(true);
    expect(request).toMatchObject({ downstreamSessionId: 'down-1', upstreamId: 'up-1', url: URL_OK, transport: 'streamable-http' });
    expect(request.signal).toBeInstanceOf(AbortSignal);
    expect(() => {
      (request as { url: string }).url = 'http://elsewhere/';
    }).toThrow(TypeError);
    expect(() => {
      (request.headers as Record<string, string>).authorization = 'Bearer other';
    }).toThrow(TypeError);
    lease.release();
  });

  it('gives the factory headers even when the caller sent none', async () => {
    const h = (current = harness());
    const lease = await h.registry.acquire(BASE);
    expect(http(h.factory.requests)[0]!.headers).toEqual({});
    expect(Object.isFrozen(http(h.factory.requests)[0]!.headers)).toBe(true);
    lease.release();
  });

  it("copies the caller's headers: changing them after acquire changes nothing the factory sees", async () => {
    const h = (current = harness());
    const headers: Record<string, string> = { authorization: 'Bearer before' };
    const acquiring = h.registry.acquire({ ...BASE, headers });
    headers.authorization = 'Bearer after';
    headers['x-added'] = 'late';
    const lease = await acquiring;
    expect(http(h.factory.requests)[0]!.headers).toEqual({ authorization: 'Bearer before' });
    expect(http(h.factory.requests)[0]!.headers).not.toBe(headers);
    expect(headers).toEqual({ authorization: 'Bearer after', 'x-added': 'late' }); // the caller's object is untouched
    lease.release();
  });

  it('does not mutate or freeze the caller’s request or headers', async () => {
    const h = (current = harness());
    const headers = { Connection: 'keep-alive', Authorization: 'Bearer t' };
    const request = { ...BASE, headers };
    const lease = await h.registry.acquire(request);
    expect(Object.isFrozen(request)).toBe(false);
    expect(Object.isFrozen(headers)).toBe(false);
    expect(headers).toEqual({ Connection: 'keep-alive', Authorization: 'Bearer t' });
    lease.release();
  });
});

describe('ids passed to evict, evictSession, evictUpstream and route', () => {
  for (const [label, value] of BAD_IDS) {
    it(`rejects an id that is ${label} everywhere, and evicts nothing`, async () => {
      const h = (current = harness());
      (await h.registry.acquire(BASE)).release();
      await rejectsInvalid(h.registry.evict({ downstreamSessionId: value, upstreamId: 'up-1' } as never), 'downstreamSessionId');
      await rejectsInvalid(h.registry.evict({ downstreamSessionId: 'down-1', upstreamId: value } as never), 'upstreamId');
      await rejectsInvalid(h.registry.evictSession(value as string), 'downstreamSessionId');
      await rejectsInvalid(h.registry.evictUpstream(value as string), 'upstreamId');
      await rejectsInvalid(h.registry.route(value as string), 'downstreamSessionId');
      expect(h.registry.size).toBe(1);
      expect(h.registry.snapshot().counters.evictions).toBe(0);
      expect(h.factory.created[0]!.closed).toBe(false);
    });
  }

  it('rejects an evict key that is not an object', async () => {
    const h = (current = harness());
    await rejectsInvalid(h.registry.evict(null as never), 'request');
    await rejectsInvalid(h.registry.evict('down-1' as never), 'request');
  });

  it('accepts valid ids that have no sessions: evict → false, evictSession/evictUpstream → 0, route → local', async () => {
    const h = (current = harness());
    await expect(h.registry.evict({ downstreamSessionId: 'nobody', upstreamId: 'nothing' })).resolves.toBe(false);
    await expect(h.registry.evictSession('nobody')).resolves.toBe(0);
    await expect(h.registry.evictUpstream('nothing')).resolves.toBe(0);
    await expect(h.registry.route('nobody')).resolves.toEqual({ local: true, owner: h.registry.workerId });
    expectNothingCreated(h);
  });
});

describe('registry options: invalid values throw InvalidOptionsError naming the option and showing the value', () => {
  const factory = new FakeSessionFactory();

  /** Builds a registry with `options`, which must throw; returns the InvalidOptionsError. */
  function construct(options: Record<string, unknown>): InvalidOptionsError {
    let error: unknown;
    try {
      new UpstreamSessionRegistry({ sessionFactory: factory, ...options });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as InvalidOptionsError).code).toBe('INVALID_OPTIONS');
    return error as InvalidOptionsError;
  }

  function expectRejected(option: string, value: unknown, shown: string, reported = option): void {
    const error = construct(option.includes('.') ? nested(option, value) : { [option]: value });
    expect(error.option).toBe(reported);
    expect(error.message).toContain(reported);
    expect(error.message).toContain(shown);
  }

  function nested(path: string, value: unknown): Record<string, unknown> {
    const [outer, inner] = path.split('.') as [string, string];
    return { [outer]: { [inner]: value } };
  }

  function accepts(options: Record<string, unknown>): void {
    const registry = new UpstreamSessionRegistry({ sessionFactory: factory, ...options });
    void registry.closeAll();
  }

  // Durations: integers in milliseconds. `min` is the smallest accepted value.
  const DURATIONS: readonly (readonly [string, number])[] = [
    ['idleValidationMs', 0],
    ['probeTimeoutMs', 1],
    ['createTimeoutMs', 1],
    ['closeTimeoutMs', 0],
    ['idleTtlMs', 0],
    ['maxAgeMs', 0],
    ['notificationDebounceMs', 0],
    ['affinityTtlMs', 1],
    ['heartbeatMs', 1],
    ['circuitBreaker.resetMs', 0],
  ];

  for (const [option, min] of DURATIONS) {
    it(`rejects a negative, NaN, infinite, fractional or non-number \`${option}\``, () => {
      expectRejected(option, -1, '`-1` (number)');
      expectRejected(option, Number.NaN, '`NaN` (number)');
      expectRejected(option, Infinity, '`Infinity` (number)');
      expectRejected(option, -Infinity, '`-Infinity` (number)');
      expectRejected(option, 1.5, '`1.5` (number)');
      expectRejected(option, '1000', '"1000"');
      expectRejected(option, null, 'null');
      if (min > 0) expectRejected(option, 0, '`0` (number)');
    });

    it(`accepts \`${option}\` = ${min} (its smallest meaningful value) and a large integer`, () => {
      const small = option.includes('.') ? nested(option, min) : { [option]: min };
      const large = option.includes('.') ? nested(option, 86_400_000) : { [option]: 86_400_000 };
      expect(() => accepts(small)).not.toThrow();
      expect(() => accepts(large)).not.toThrow();
    });
  }

  for (const option of ['maxSessions', 'maxSessionsPerUpstream']) {
    it(`rejects a zero, negative, NaN, fractional or non-number \`${option}\`, and accepts 1 and Infinity`, () => {
      expectRejected(option, 0, '`0` (number)');
      expectRejected(option, -1, '`-1` (number)');
      expectRejected(option, Number.NaN, '`NaN` (number)');
      expectRejected(option, 2.5, '`2.5` (number)');
      expectRejected(option, '10', '"10"');
      expectRejected(option, -Infinity, '`-Infinity` (number)');
      expect(() => accepts({ [option]: 1 })).not.toThrow();
      expect(() => accepts({ [option]: Infinity })).not.toThrow();
    });
  }

  it('rejects a circuitBreaker failureThreshold that is not an integer >= 1 (Infinity is not allowed)', () => {
    expectRejected('circuitBreaker.failureThreshold', 0, '`0` (number)');
    expectRejected('circuitBreaker.failureThreshold', -3, '`-3` (number)');
    expectRejected('circuitBreaker.failureThreshold', 1.5, '`1.5` (number)');
    expectRejected('circuitBreaker.failureThreshold', Infinity, '`Infinity` (number)');
    expectRejected('circuitBreaker.failureThreshold', Number.NaN, '`NaN` (number)');
  });

  it('rejects a circuitBreaker that is not false or an object, or has unknown keys', () => {
    for (const [value, shown] of [
      [true, '`true` (boolean)'],
      ['off', '"off"'],
      [null, 'null'],
      [5, '`5` (number)'],
    ] as const) {
      const error = construct({ circuitBreaker: value });
      expect(error.option).toBe('circuitBreaker');
      expect(error.message).toContain(shown);
    }
    const unknown = construct({ circuitBreaker: { failureThreshold: 2, threshold: 3 } });
    expect(unknown.option).toBe('circuitBreaker');
    expect(unknown.message).toContain('threshold');
  });

  it('accepts circuitBreaker false (off), an empty object (defaults) and partial settings', () => {
    expect(() => accepts({ circuitBreaker: false })).not.toThrow();
    expect(() => accepts({ circuitBreaker: {} })).not.toThrow();
    expect(() => accepts({ circuitBreaker: { failureThreshold: 1 } })).not.toThrow();
    expect(() => accepts({ circuitBreaker: { resetMs: 0 } })).not.toThrow();
  });

  it('rejects an unknown option key, naming it', () => {
    for (const key of ['idleTTLMs', 'maxSession', 'timeout', 'sessionfactory']) {
      const error = construct({ [key]: 1 });
      expect(error.option).toBe(key);
      expect(error.message).toContain(key);
    }
  });

  it('rejects an unknown probe name, showing it', () => {
    const error = construct({ probes: ['ping', 'pong'] });
    expect(error.option).toBe('probes');
    expect(error.message).toContain('"pong"');
    const nonString = construct({ probes: ['ping', 7] });
    expect(nonString.option).toBe('probes');
    expect(nonString.message).toContain('`7` (number)');
    const wrongCase = construct({ probes: ['PING'] });
    expect(wrongCase.message).toContain('"PING"');
  });

  it('rejects empty probes and probes that are not an array', () => {
    for (const value of [[], 'ping', null, { 0: 'ping' }]) {
      const error = construct({ probes: value });
      expect(error.option).toBe('probes');
    }
  });

  it('accepts a custom probe chain, with or without skip', () => {
    expect(() => accepts({ probes: ['tools/list'] })).not.toThrow();
    expect(() => accepts({ probes: ['skip'] })).not.toThrow();
    expect(() => accepts({ probes: ['resources/list', 'ping', 'skip'] })).not.toThrow();
  });

  const OBJECTS: readonly (readonly [string, readonly string[]])[] = [
    ['sessionFactory', ['create']],
    ['clock', ['now', 'setTimeout', 'clearTimeout']],
    ['logger', ['debug', 'info', 'warn', 'error']],
    ['affinity', ['claim', 'refresh', 'release', 'owner', 'reclaim', 'heartbeat', 'isAlive']],
  ];

  for (const [option, methods] of OBJECTS) {
    it(`rejects a \`${option}\` that is not an object with ${methods.join(', ')}`, () => {
      for (const value of [null, 'yes', 42, {}]) {
        const error = construct({ [option]: value });
        expect(error.option).toBe(option);
        expect(error.message).toContain(option);
      }
      // Every method is required: drop each one in turn.
      for (const missing of methods) {
        const partial: Record<string, unknown> = {};
        for (const method of methods) if (method !== missing) partial[method] = () => undefined;
        const error = construct({ [option]: partial });
        expect(error.option).toBe(option);
        expect(error.message).toContain(missing);
      }
    });
  }

  it('rejects a workerId that is not 1–256 visible ASCII characters, showing the value', () => {
    for (const [value, shown] of [
      ['', '""'],
      ['a b', '"a b"'],
      [7, '`7` (number)'],
    ] as const) {
      const error = construct({ workerId: value });
      expect(error.option).toBe('workerId');
      expect(error.message).toContain(shown);
    }
    expect(construct({ workerId: 'w'.repeat(257) }).option).toBe('workerId');
  });

  it('rejects options that are not an object', () => {
    for (const value of [null, 'options', 5, []]) {
      let error: unknown;
      try {
        new UpstreamSessionRegistry(value as RegistryOptions<FakeUpstreamClient>);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidOptionsError);
      expect((error as InvalidOptionsError).option).toBe('options');
    }
  });

  it('treats an option set to undefined as unset', () => {
    expect(() => accepts({ idleTtlMs: undefined, circuitBreaker: undefined, probes: undefined, logger: undefined })).not.toThrow();
  });
});

describe('zero where it means "off" or "at once"', () => {
  it('idleTtlMs 0 turns idle eviction off', async () => {
    const h = (current = harness({ idleTtlMs: 0, idleValidationMs: 0 }));
    (await h.registry.acquire(BASE)).release();
    await h.clock.advance(365 * 24 * 3_600_000);
    expect(h.registry.size).toBe(1);
    expect(h.registry.snapshot().evictionsByReason.idle).toBe(0);
  });

  it('maxAgeMs 0 turns age eviction off', async () => {
    const h = (current = harness({ maxAgeMs: 0, idleTtlMs: 0 }));
    const lease = await h.registry.acquire(BASE);
    await h.clock.advance(30 * 24 * 3_600_000);
    lease.release();
    await h.clock.flush();
    expect(h.registry.size).toBe(1);
    expect(h.registry.snapshot().evictionsByReason['max-age']).toBe(0);
  });

  it('idleValidationMs 0 probes every reuse after any idle time', async () => {
    const h = (current = harness({ idleValidationMs: 0 }));
    (await h.registry.acquire(BASE)).release();
    (await h.registry.acquire(BASE)).release(); // same instant: not idle at all
    expect(h.registry.snapshot().counters.probes).toBe(0);
    await h.clock.advance(1);
    (await h.registry.acquire(BASE)).release();
    expect(h.registry.snapshot().counters.probes).toBe(1);
  });
});

describe('downstreamSessionIdFromHeaders', () => {
  it('reads mcp-session-id from Node headers (lower-cased by Node)', () => {
    expect(downstreamSessionIdFromHeaders({ 'mcp-session-id': 'abc-123', host: 'x' })).toBe('abc-123');
  });

  it('reads the header in any case from a plain record', () => {
    expect(downstreamSessionIdFromHeaders({ 'Mcp-Session-Id': 'abc' })).toBe('abc');
    expect(downstreamSessionIdFromHeaders({ 'MCP-SESSION-ID': 'abc' })).toBe('abc');
  });

  it('reads the header from Fetch Headers in any case', () => {
    expect(downstreamSessionIdFromHeaders(new Headers({ 'Mcp-Session-Id': 'abc' }))).toBe('abc');
    expect(downstreamSessionIdFromHeaders(new Headers([['MCP-SESSION-ID', 'xyz']]))).toBe('xyz');
  });

  it('takes the single element of an array value and rejects repeated headers', () => {
    expect(downstreamSessionIdFromHeaders({ 'mcp-session-id': ['abc'] })).toBe('abc');
    expect(downstreamSessionIdFromHeaders({ 'mcp-session-id': ['a', 'b'] })).toBeUndefined();
    expect(downstreamSessionIdFromHeaders({ 'mcp-session-id': [] })).toBeUndefined();
    const repeated = new Headers();
    repeated.append('mcp-session-id', 'a');
    repeated.append('mcp-session-id', 'b');
    expect(downstreamSessionIdFromHeaders(repeated)).toBeUndefined();
  });

  it('returns undefined when the header is absent', () => {
    expect(downstreamSessionIdFromHeaders({})).toBeUndefined();
    expect(downstreamSessionIdFromHeaders({ 'mcp-session-id': undefined })).toBeUndefined();
    expect(downstreamSessionIdFromHeaders({ 'x-mcp-session-id': 'abc' })).toBeUndefined();
    expect(downstreamSessionIdFromHeaders(new Headers())).toBeUndefined();
  });

  for (const [label, value] of [
    ['empty', ''],
    ['257 characters long', 'a'.repeat(257)],
    ['containing a space', 'a b'],
    ['containing a tab', 'a\tb'],
    ['non-ASCII', 'sessión'],
  ] as const) {
    it(`returns undefined for a value that is ${label}`, () => {
      expect(downstreamSessionIdFromHeaders({ 'mcp-session-id': value })).toBeUndefined();
    });
  }

  it('returns undefined for a Fetch Headers value with an inner space', () => {
    expect(downstreamSessionIdFromHeaders(new Headers({ 'mcp-session-id': 'a b' }))).toBeUndefined();
  });

  it('returns undefined for non-string values in a plain record', () => {
    for (const value of [42, null, { id: 'a' }, [7]]) {
      expect(downstreamSessionIdFromHeaders({ 'mcp-session-id': value } as never)).toBeUndefined();
    }
  });

  it('accepts a 256-character id of visible ASCII, the same rule acquire enforces', async () => {
    const id = '!'.repeat(200) + '~'.repeat(56);
    expect(downstreamSessionIdFromHeaders({ 'mcp-session-id': id })).toBe(id);
    const h = (current = harness());
    const lease = await h.registry.acquire({ ...BASE, downstreamSessionId: downstreamSessionIdFromHeaders({ 'mcp-session-id': id })! });
    expect(lease.info.key.downstreamSessionId).toBe(id);
    lease.release();
  });
});

describe('header values fetch cannot send are rejected before anything is created', () => {
  for (const [label, value] of [
    ['a code point above 0xFF (李雷)', '李雷'],
    ['a code point above 0xFF (tok€n)', 'tok€n'],
    ['a control character (\\x01)', 'a\x01b'],
    ['DEL (\\x7f)', 'a\x7fb'],
    ['a C1 control character (\\x85)', 'a\x85b'],
  ] as const) {
    it(`rejects a header value with ${label}, naming the header and never the value`, async () => {
      const h = (current = harness());
      const error = await rejectsInvalid(h.registry.acquire({ ...BASE, headers: { 'x-user': value } }), 'headers');
      expect(error.message).toContain('x-user');
      expect(error.message).not.toContain(value);
      expectNothingCreated(h);
    });
  }

  it('accepts horizontal tab and Latin-1 characters', async () => {
    const h = (current = harness());
    const lease = await h.registry.acquire({ ...BASE, headers: { 'x-name': 'Zoë\tMüller' } });
    expect(http(h.factory.requests)[0]!.headers['x-name']).toBe('Zoë\tMüller');
    lease.release();
  });

  it('rejects such a value on reuse too', async () => {
    const h = (current = harness());
    (await h.registry.acquire(BASE)).release();
    await rejectsInvalid(h.registry.acquire({ ...BASE, headers: { authorization: 'Bearer 李' } }), 'headers');
    expect(h.factory.createCalls).toBe(1);
  });
});

describe('withSession checks its callback before anything is created', () => {
  for (const [label, value] of [
    ['undefined', undefined],
    ['null', null],
    ['a string', 'listTools'],
    ['an object', { call: () => undefined }],
  ] as const) {
    it(`rejects fn that is ${label} with InvalidRequestError`, async () => {
      const h = (current = harness());
      const fn = value as unknown as (client: FakeUpstreamClient) => unknown;
      await rejectsInvalid(h.registry.withSession(BASE, fn), 'fn');
      expectNothingCreated(h);
    });
  }
});

describe('stdio requests: command, args, env, cwd', () => {
  const STDIO = { downstreamSessionId: 'down-1', upstreamId: 'fs', transport: 'stdio' as const, command: '/usr/local/bin/mcp-server-fs' };

  for (const [label, field, patch] of [
    ['an empty command', 'command', { command: '' }],
    ['a command that is not a string', 'command', { command: 7 }],
    ['a command with NUL', 'command', { command: 'node\0x' }],
    ['args that are not an array', 'args', { args: '--root /' }],
    ['an arg that is not a string', 'args', { args: ['ok', 3] }],
    ['an arg with NUL', 'args', { args: ['a\0b'] }],
    ['env that is not a plain object', 'env', { env: new Map() }],
    ['an env name that is not a shell name', 'env', { env: { '1BAD': 'x' } }],
    ['an env value that is not a string', 'env', { env: { TOKEN: 1 } }],
    ['an env value with NUL', 'env', { env: { TOKEN: 'a\0b' } }],
    ['a cwd that is not a string', 'cwd', { cwd: 1 }],
    ['a url on a stdio request', 'url', { url: URL_OK }],
    ['headers on a stdio request', 'headers', { headers: {} }],
  ] as const) {
    it(`rejects ${label} and creates nothing`, async () => {
      const h = (current = harness());
      await rejectsInvalid(h.registry.acquire({ ...STDIO, ...patch } as unknown as SessionRequest), field);
      expectNothingCreated(h);
    });
  }

  for (const field of ['command', 'args', 'env', 'cwd'] as const) {
    it(`rejects ${field} on an HTTP request`, async () => {
      const h = (current = harness());
      await rejectsInvalid(h.registry.acquire(withField(field, field === 'args' ? [] : field === 'env' ? {} : 'x')), field);
      expectNothingCreated(h);
    });
  }

  it('hands the factory a frozen stdio create request and shows only the command base name', async () => {
    const h = (current = harness());
    const lease = await h.registry.acquire({ ...STDIO, args: ['--token', 'sk-secret-123'], env: { API_KEY: 'k-987654' }, cwd: '/srv' });
    const created = h.factory.requests[0]!;
    expect(created).toMatchObject({ transport: 'stdio', command: STDIO.command, args: ['--token', 'sk-secret-123'], env: { API_KEY: 'k-987654' }, cwd: '/srv' });
    expect(Object.isFrozen(created)).toBe(true);
    if (created.transport === 'stdio') {
      expect(Object.isFrozen(created.args)).toBe(true);
      expect(Object.isFrozen(created.env)).toBe(true);
    }
    expect(lease.info).toMatchObject({ transport: 'stdio', command: 'mcp-server-fs' });
    expect(lease.info.url).toBeUndefined();
    const text = JSON.stringify([h.registry.snapshot(), lease.info]);
    for (const secret of ['sk-secret-123', 'k-987654', '/usr/local/bin', '/srv']) expect(text).not.toContain(secret);
    lease.release();
  });

  it('reuses a stdio session for the same command, args and cwd, and replaces it when they change (env is not part of it)', async () => {
    const h = (current = harness());
    const base = { ...STDIO, args: ['a'] } as unknown as SessionRequest;
    (await h.registry.acquire(base)).release();
    (await h.registry.acquire({ ...base, env: { X: 'changed' } } as unknown as SessionRequest)).release();
    expect(h.factory.createCalls).toBe(1);
    (await h.registry.acquire({ ...base, args: ['b'] } as unknown as SessionRequest)).release();
    expect(h.factory.createCalls).toBe(2);
    (await h.registry.acquire({ ...base, args: ['b'], cwd: '/tmp' } as unknown as SessionRequest)).release();
    expect(h.factory.createCalls).toBe(3);
  });
});

describe('clientCapabilities and principal', () => {
  for (const [label, value] of [
    ['an array', []],
    ['a string', 'sampling'],
    ['a class instance', new Date()],
    ['an object holding a function', { sampling: () => undefined }],
    ['an object holding NaN', { n: Number.NaN }],
  ] as const) {
    it(`rejects clientCapabilities that is ${label}`, async () => {
      const h = (current = harness());
      await rejectsInvalid(h.registry.acquire(withField('clientCapabilities', value)), 'clientCapabilities');
      expectNothingCreated(h);
    });
  }

  for (const [label, value] of [
    ['empty', ''],
    ['257 characters long', 'p'.repeat(257)],
    ['containing a space', 'tenant a'],
    ['a number', 1],
  ] as const) {
    it(`rejects a principal that is ${label}`, async () => {
      const h = (current = harness());
      await rejectsInvalid(h.registry.acquire(withField('principal', value)), 'principal');
      expectNothingCreated(h);
    });
  }

  it('passes a deep-frozen copy of clientCapabilities and the principal to the factory', async () => {
    const h = (current = harness());
    const capabilities = { sampling: {}, elicitation: { form: { fields: ['a'] } } };
    const lease = await h.registry.acquire({ ...BASE, clientCapabilities: capabilities, principal: 'tenant-7' });
    const created = h.factory.requests[0]!;
    expect(created.clientCapabilities).toEqual(capabilities);
    expect(created.clientCapabilities).not.toBe(capabilities);
    expect(Object.isFrozen(created.clientCapabilities)).toBe(true);
    expect(Object.isFrozen((created.clientCapabilities as { elicitation: { form: object } }).elicitation.form)).toBe(true);
    expect(created.principal).toBe('tenant-7');
    lease.release();
  });
});
