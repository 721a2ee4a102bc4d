import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  InvalidOptionsError,
  InvalidRequestError,
  SessionCreateError,
  SessionCreateTimeoutError,
  UpstreamSessionError,
  UpstreamSessionRegistry,
  downstreamSessionIdFromHeaders,
  type RegistryOptions,
  type SessionCreateRequest,
} from '../src/index.js';
import { http } from './support/track.js';
import { type HttpSessionRequest as SessionRequest } from '../src/types.js';
import { FakeSessionFactory, ManualClock, type FakeUpstreamClient } from '../src/testing/index.js';
import { CapturingLogger, findSecrets, textOf, type EventRecord, type LogRecord } from './support/capture.js';
import { harness, type Harness } from './support/harness.js';

// Issue #6, hostile input. Property tests over random strings and objects for ids, urls, headers, options
// and whole requests (including prototype-polluting keys, Proxies and getters): only InvalidRequestError /
// InvalidOptionsError come out (or a lease, for valid input), nothing is created for invalid input, nothing
// else throws, and nothing is thrown synchronously from an async API.
//
// Decision (documented in the README's Guarantees): a getter or Proxy trap that throws while the registry
// reads a request or options object propagates its own error unchanged (the registry does not wrap host
// bugs); nothing is created in that case either.
//
// Secrets: every header value, URL credential and query value used anywhere in this file is a distinctive
// `sk-…` token. A capturing logger and event recorder watch every registry the suite builds; the last test
// asserts that no token appears in any log call, event payload, snapshot or library error message.

/** Everything the suite's registries said, for the final secrets check. */
const captured = {
  logs: [] as LogRecord[],
  events: [] as EventRecord[],
  snapshots: [] as unknown[],
  /** Errors the library threw or rejected with (their message, String() and own fields are checked). */
  errors: [] as unknown[],
  /** What factories received (the secrets must be there: proves the inputs carried them). */
  factoryRequests: [] as SessionCreateRequest[],
};
const secrets = new Set<string>();
/** How many generated requests took the valid and the invalid path (the properties must exercise both). */
const tally = { valid: 0, invalid: 0 };

const OBJECT_PROTOTYPE_KEYS = Object.getOwnPropertyNames(Object.prototype).sort();

afterEach(() => {
  // No request, header or option object may pollute Object.prototype.
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(OBJECT_PROTOTYPE_KEYS);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
});

// ---------------------------------------------------------------------------------------------------------
// Harness

/** A harness whose logs and events go to the suite's capture. */
const captureTo = { logger: new CapturingLogger({ sink: captured.logs }), eventSink: captured.events };

/** Closes the registry (driving the clock) and checks nothing leaked; keeps what it saw for the secrets check. */
async function dispose(h: Harness): Promise<void> {
  captured.snapshots.push(h.registry.snapshot());
  await h.shutdown();
  captured.snapshots.push(h.registry.snapshot());
  captured.factoryRequests.push(...h.factory.requests);
}

/** Asserts that the registry created and recorded nothing. */
function assertNothingCreated({ factory, registry }: Harness): void {
  const s = registry.snapshot();
  if (factory.createCalls !== 0 || s.entries.length > 0 || s.upstreams.length > 0 || s.pending !== 0 || s.sessions !== 0) {
    throw new Error(`invalid input created something: ${factory.createCalls} create calls, snapshot ${JSON.stringify(s)}`);
  }
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * Calls an async registry API: it must not throw synchronously. Returns how its promise settled; library
 * errors are recorded for the secrets check.
 */
async function settle(call: () => Promise<unknown>): Promise<Outcome> {
  let promise: Promise<unknown>;
  try {
    promise = call();
  } catch (error) {
    throw new Error(`an async API threw synchronously: ${String(error)}`);
  }
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    captured.errors.push(error);
    return { ok: false, error };
  }
}

/** A getter's or Proxy trap's own error: allowed to propagate as it is. */
class HostileAccessorError extends Error {
  override readonly name = 'HostileAccessorError';
}

function isInvalidRequest(error: unknown): boolean {
  return error instanceof InvalidRequestError && (error).code === 'INVALID_REQUEST';
}

// ---------------------------------------------------------------------------------------------------------
// Oracles (SPEC §7), written from the spec rather than from src/

const ID = /^[\x21-\x7E]{1,256}$/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const REMOVED = new Set([
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
]);

function validId(value: unknown): boolean {
  return typeof value === 'string' && ID.test(value);
}

function validUrl(value: unknown): boolean {
  return typeof value === 'string' && URL.canParse(value);
}

function validHeaders(value: unknown): boolean {
  if (value === undefined) return true;
  if (typeof value !== 'object' || value === null) return false;
  // Only plain records: a Map, Headers, array or class instance is rejected rather than read as "no headers".
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const name of Object.keys(value)) {
    const v: unknown = (value as Record<string, unknown>)[name];
    if (!TOKEN.test(name) || typeof v !== 'string' || /[\r\n\0]/.test(v)) return false;
  }
  return true;
}

function validRequest(request: unknown): boolean {
  if (typeof request !== 'object' || request === null) return false;
  const r = request as Record<string, unknown>;
  return (
    validId(r.downstreamSessionId) &&
    validId(r.upstreamId) &&
    validUrl(r.url) &&
    (r.transport === undefined || r.transport === 'streamable-http' || r.transport === 'sse') &&
    (r.fingerprint === undefined || typeof r.fingerprint === 'string') &&
    (r.signal === undefined || r.signal instanceof AbortSignal) &&
    validHeaders(r.headers)
  );
}

/**
 * The headers a factory must receive: names lower-cased, internal and hop-by-hop headers removed, values
 * exact. `__proto__` is left out of the comparison (see the note in the headers property).
 */
function expectedHeaders(headers: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (headers === undefined) return out;
  for (const name of Object.keys(headers as object)) {
    const lower = name.toLowerCase();
    if (!REMOVED.has(lower) && lower !== '__proto__') out.set(lower, (headers as Record<string, string>)[name]!);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Arbitraries

/** A distinctive secret token; every one generated is remembered for the final check. */
const secret = fc.stringMatching(/^[A-Za-z0-9]{12,20}$/).map((s) => {
  const token = `sk-${s}`;
  secrets.add(token);
  return token;
});

const validIdArb = fc.stringMatching(/^[\x21-\x7E]{1,40}$/);
const idArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: validIdArb },
  { weight: 1, arbitrary: fc.stringMatching(/^[\x21-\x7E]{250,260}$/) },
  { weight: 2, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', 'a b', 'a\tb', 'a\0b', 'a\x7Fb', 'sessión', 'id\r\n', '__proto__', 'constructor') },
  { weight: 1, arbitrary: fc.anything() },
);

const host = fc.domain();
const path = fc.webPath();
const urlArb: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .tuple(fc.constantFrom('http', 'https'), secret, secret, host, path, secret)
      .map(([scheme, user, pass, h, p, token]) => `${scheme}://${user}:${pass}@${h}${p}?token=${token}&region=eu`),
  },
  { weight: 1, arbitrary: fc.tuple(secret, host).map(([user, h]) => `https://${user}@${h}/mcp`) },
  { weight: 1, arbitrary: fc.tuple(host, secret).map(([h, token]) => `http://${h}/mcp?${token}`) },
  { weight: 2, arbitrary: fc.webUrl({ withQueryParameters: true, withFragments: true }) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(secret, secret, host, secret)
      .map(([user, pass, h, token]) => `https://${user}:${pass}@[${h}/mcp?token=${token}`),
  },
  { weight: 1, arbitrary: fc.tuple(secret).map(([token]) => `/mcp?token=${token}`) },
  { weight: 1, arbitrary: fc.tuple(secret, secret).map(([a, b]) => `${a} ${b}`) },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('', 'http://', '//example.test/mcp', 'http://[::1', 'javascript:alert(1)', 'mailto:a@b.test', 'data:,x', 'http://a b/'),
  },
  { weight: 1, arbitrary: fc.anything() },
);

const headerName: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,20}$/) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'Authorization',
      'authorization',
      'X-Api-Key',
      'Cookie',
      'Mcp-Session-Id',
      'X-MCP-Session-Id',
      'MCP-Protocol-Version',
      'Host',
      'Connection',
      'Transfer-Encoding',
      'Content-Length',
      'TE',
      '__proto__',
      'constructor',
      'prototype',
      'toString',
      'hasOwnProperty',
      'valueOf',
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
);

const headerValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: secret },
  { weight: 2, arbitrary: secret.map((s) => `Bearer ${s}`) },
  {
    weight: 2,
    arbitrary: fc.tuple(secret, fc.constantFrom('\r', '\n', '\0', '\r\n')).map(([s, c]) => `Bearer ${s}${c}X-Injected: 1`),
  },
  { weight: 1, arbitrary: fc.tuple(secret).map(([s]) => `${s}\tand spaces  `) },
  { weight: 1, arbitrary: fc.anything() },
);

/** JSON payloads that try to pollute prototypes (JSON.parse makes `__proto__` an own key). */
const pollutingJson = fc.constantFrom(
  '{"__proto__":{"polluted":"yes"}}',
  '{"constructor":{"prototype":{"polluted":"yes"}}}',
  '{"__proto__":{"downstreamSessionId":"d","upstreamId":"u","url":"http://x.test/"}}',
  '{"prototype":{"polluted":"yes"},"__proto__":{"toString":"x"}}',
);

const headersArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.dictionary(headerName, headerValue, { maxKeys: 6 }) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(pollutingJson, fc.dictionary(headerName, secret, { maxKeys: 3 }))
      .map(([json, extra]) => Object.assign(JSON.parse(json) as object, extra)),
  },
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constantFrom(null, [], ['authorization', 'x'], 'authorization: x', 42) },
  { weight: 1, arbitrary: fc.anything({ withNullPrototype: true, withMap: true, withSet: true }) },
);

const transportArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(undefined, 'streamable-http', 'sse') },
  { weight: 1, arbitrary: fc.constantFrom('SSE', 'http', '', 'websocket') },
  { weight: 1, arbitrary: fc.anything() },
);

const fingerprintArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }) },
  { weight: 1, arbitrary: fc.anything() },
);

const signalArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constant(undefined) },
  { weight: 2, arbitrary: fc.constant(null).map(() => new AbortController().signal) },
  { weight: 1, arbitrary: fc.constantFrom({ aborted: false }, { aborted: true, reason: 'x' }, 'signal', 1) },
  { weight: 1, arbitrary: fc.anything() },
);

/** Request fields, each either hostile or valid; any may be missing. */
const requestFields = fc.record(
  {
    downstreamSessionId: idArb,
    upstreamId: idArb,
    url: urlArb,
    transport: transportArb,
    headers: headersArb,
    fingerprint: fingerprintArb,
    signal: signalArb,
  },
  { requiredKeys: [] },
);

/** Mostly-valid requests (so the valid path is exercised with secrets too). */
const mostlyValidRequest = fc.record({
  downstreamSessionId: validIdArb,
  upstreamId: validIdArb,
  url: urlArb,
  headers: fc.oneof(fc.dictionary(headerName, fc.oneof(secret, secret.map((s) => `Bearer ${s}`)), { maxKeys: 5 }), headersArb),
});

const requestArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: requestFields },
  { weight: 3, arbitrary: mostlyValidRequest },
  {
    weight: 1,
    arbitrary: fc
      .tuple(pollutingJson, mostlyValidRequest)
      .map(([json, fields]) => Object.assign(JSON.parse(json) as object, fields)),
  },
  { weight: 1, arbitrary: fc.tuple(pollutingJson).map(([json]) => JSON.parse(json) as unknown) },
  { weight: 1, arbitrary: mostlyValidRequest.map((fields) => Object.create(fields) as unknown) },
  { weight: 1, arbitrary: fc.anything({ withNullPrototype: true, withMap: true, withSet: true }) },
);

/** What the factory does with a valid request, to walk different library paths while secrets are in play. */
const scenarioArb = fc.constantFrom('ok', 'ok', 'fail', 'timeout', 'probe-fails', 'close-fails', 'close-hangs', 'drop', 'evict');

// ---------------------------------------------------------------------------------------------------------
// Properties

/** Acquires `request` on a fresh registry and checks the outcome against the oracle. */
async function checkAcquire(request: unknown, scenario: string, via: 'acquire' | 'withSession'): Promise<void> {
  const h = harness({ createTimeoutMs: 1_000, idleValidationMs: 100, probeTimeoutMs: 100, closeTimeoutMs: 100 }, captureTo);
  const valid = validRequest(request);
  if (valid && scenario === 'fail') h.factory.nextCreate('fail');
  if (valid && scenario === 'timeout') h.factory.nextCreate('hang');
  if (valid && scenario === 'close-fails') h.factory.script.close = 'fail';
  if (valid && scenario === 'close-hangs') h.factory.script.close = 'hang-ignoring-signal';
  let fnCalled = false;
  const pending = settle(() =>
    via === 'acquire'
      ? h.registry.acquire(request as SessionRequest)
      : h.registry.withSession(request as SessionRequest, (client, info) => {
          fnCalled = true;
          captured.snapshots.push(info);
          return client.ping();
        }),
  );
  if (valid && scenario === 'timeout') await h.clock.advance(1_000);
  const outcome = await pending;
  tally[valid ? 'valid' : 'invalid'] += 1;
  if (!valid) {
    if (outcome.ok || !isInvalidRequest(outcome.error)) {
      throw new Error(`invalid request did not reject with InvalidRequestError: ${outcome.ok ? 'resolved' : String(outcome.error)}`);
    }
    if (fnCalled) throw new Error('withSession called fn for an invalid request');
    assertNothingCreated(h);
    await dispose(h);
    return;
  }
  if (scenario === 'fail' || scenario === 'timeout') {
    const error = outcome.ok ? undefined : outcome.error;
    if (!(error instanceof (scenario === 'fail' ? SessionCreateError : SessionCreateTimeoutError))) {
      throw new Error(`a ${scenario} creation rejected with ${String(error)}`);
    }
    await dispose(h);
    return;
  }
  if (!outcome.ok) throw new Error(`a valid request was rejected: ${String(outcome.error)}`);
  if (via === 'acquire') (outcome.value as { release(): void }).release();
  else if (!fnCalled) throw new Error('withSession did not call fn');
  const created = http(h.factory.requests)[0];
  if (h.factory.createCalls !== 1 || created === undefined) throw new Error('a valid request did not create exactly one session');
  const r = request as SessionRequest;
  if (created.downstreamSessionId !== r.downstreamSessionId || created.upstreamId !== r.upstreamId || created.url !== r.url) {
    throw new Error('the factory did not receive the ids and url as given');
  }
  if (!Object.isFrozen(created) || !Object.isFrozen(created.headers)) throw new Error('the create request is not frozen');
  // `__proto__` as a header name: a valid HTTP token, but the factory's plain-object copy cannot carry it
  // (assigning a string to `__proto__` is a no-op). Harmless (no pollution); left out of this comparison.
  const got = new Map(Object.entries(created.headers).filter(([name]) => name !== '__proto__'));
  expect(got).toEqual(expectedHeaders(r.headers));
  for (const value of got.values()) if (/[\r\n\0]/.test(value)) throw new Error('a header value with CR, LF or NUL reached the factory');
  captured.snapshots.push(h.registry.snapshot());

  const conn = h.factory.created[0]!;
  if (scenario === 'probe-fails') {
    conn.client.script.ping = 'broken';
    await h.clock.advance(101);
    const again = await settle(() => h.registry.withSession(r, (client) => client.ping()));
    if (!again.ok) throw new Error(`reacquire after a failed probe was rejected: ${String(again.error)}`);
  } else if (scenario === 'drop') {
    conn.notify('notifications/tools/list_changed', { secretless: true });
    conn.dropTransport(new Error('socket hang up'));
    await h.clock.advance(2_000);
  } else if (scenario === 'evict') {
    await h.registry.evictSession(r.downstreamSessionId);
  }
  await dispose(h);
}

describe('hostile input: only InvalidRequestError / InvalidOptionsError, nothing created, nothing else thrown', () => {
  it('acquire: random requests (ids, urls, headers, transport, fingerprint, signal, polluting keys)', async () => {
    await fc.assert(
      fc.asyncProperty(requestArb, scenarioArb, async (request, scenario) => {
        await checkAcquire(request, scenario, 'acquire');
      }),
      { numRuns: 600 },
    );
  });

  it('withSession: random requests never reach fn unless valid', async () => {
    await fc.assert(
      fc.asyncProperty(requestArb, scenarioArb, async (request, scenario) => {
        await checkAcquire(request, scenario, 'withSession');
      }),
      { numRuns: 300 },
    );
  });

  it('acquire: every field on its own, each hostile value with the others valid', async () => {
    const base = { downstreamSessionId: 'down-1', upstreamId: 'up-1', url: 'http://upstream.test/mcp' };
    const oneField = fc.oneof(
      idArb.map((v) => ({ ...base, downstreamSessionId: v })),
      idArb.map((v) => ({ ...base, upstreamId: v })),
      urlArb.map((v) => ({ ...base, url: v })),
      headersArb.map((v) => ({ ...base, headers: v })),
      transportArb.map((v) => ({ ...base, transport: v })),
      fingerprintArb.map((v) => ({ ...base, fingerprint: v })),
      signalArb.map((v) => ({ ...base, signal: v })),
    );
    await fc.assert(
      fc.asyncProperty(oneField, async (request) => {
        await checkAcquire(request, 'ok', 'acquire');
      }),
      { numRuns: 600 },
    );
  });

  it('evict, evictSession, evictUpstream and route: random ids and keys', async () => {
    const keyArb = fc.oneof(
      fc.record({ downstreamSessionId: idArb, upstreamId: idArb }, { requiredKeys: [] }),
      fc.anything({ withNullPrototype: true }),
    );
    await fc.assert(
      fc.asyncProperty(keyArb, idArb, idArb, async (key, downstreamSessionId, upstreamId) => {
        const h = harness({}, captureTo);
        const keyValid =
          typeof key === 'object' &&
          key !== null &&
          validId((key as Record<string, unknown>).downstreamSessionId) &&
          validId((key as Record<string, unknown>).upstreamId);
        const calls: [string, boolean, () => Promise<unknown>, unknown][] = [
          ['evict', keyValid, () => h.registry.evict(key as { downstreamSessionId: string; upstreamId: string }), false],
          ['evictSession', validId(downstreamSessionId), () => h.registry.evictSession(downstreamSessionId as string), 0],
          ['evictUpstream', validId(upstreamId), () => h.registry.evictUpstream(upstreamId as string), 0],
          ['route', validId(downstreamSessionId), () => h.registry.route(downstreamSessionId as string), undefined],
        ];
        for (const [name, valid, call, expected] of calls) {
          const outcome = await settle(call);
          if (valid && !outcome.ok) throw new Error(`${name} rejected a valid id: ${String(outcome.error)}`);
          if (!valid && (outcome.ok || !isInvalidRequest(outcome.error))) {
            throw new Error(`${name} did not reject an invalid id with InvalidRequestError`);
          }
          if (valid && expected !== undefined && outcome.ok && outcome.value !== expected) {
            throw new Error(`${name} on an empty registry returned ${String(outcome.value)}`);
          }
        }
        assertNothingCreated(h);
        await dispose(h);
      }),
      { numRuns: 400 },
    );
  });

  it('getters and Proxy traps that throw propagate their own error (or InvalidRequestError first); nothing is created', async () => {
    const fields = ['downstreamSessionId', 'upstreamId', 'url', 'headers', 'transport', 'fingerprint', 'signal'] as const;
    const hostile = fc.oneof(
      // A request field whose getter throws.
      fc.tuple(mostlyValidRequest, fc.constantFrom(...fields)).map(([fields, field]) => {
        const error = new HostileAccessorError(`getter ${field}`);
        const request = { ...fields };
        Object.defineProperty(request, field, {
          enumerable: true,
          get() {
            throw error;
          },
        });
        return { request: request, error };
      }),
      // A header whose getter throws.
      fc.tuple(mostlyValidRequest, headerName).map(([request, name]) => {
        const error = new HostileAccessorError(`header getter`);
        const headers = {};
        Object.defineProperty(headers, name, {
          enumerable: true,
          get() {
            throw error;
          },
        });
        return { request: { ...request, headers }, error };
      }),
      // A Proxy request or Proxy headers whose traps throw.
      fc.tuple(mostlyValidRequest, fc.constantFrom('get', 'ownKeys', 'getOwnPropertyDescriptor', 'has'), fc.boolean()).map(
        ([request, trap, onHeaders]) => {
          const error = new HostileAccessorError(`proxy ${trap}`);
          const target = onHeaders ? { ...(request.headers as object) } : { ...request };
          const proxy = new Proxy(target, {
            [trap]: () => {
              throw error;
            },
          });
          return { request: (onHeaders ? { ...request, headers: proxy } : proxy), error };
        },
      ),
    );
    await fc.assert(
      fc.asyncProperty(hostile, async ({ request, error }) => {
        const h = harness({}, captureTo);
        const outcome = await settle(() => h.registry.acquire(request as SessionRequest));
        if (outcome.ok) {
          // Only possible when the throwing accessor is never consulted (e.g. a `has` trap); then it is valid.
          (outcome.value as { release(): void }).release();
        } else {
          if (outcome.error !== error && !isInvalidRequest(outcome.error)) {
            throw new Error(`acquire rejected with ${String(outcome.error)}, neither the accessor's error nor InvalidRequestError`);
          }
          assertNothingCreated(h);
        }
        await dispose(h);
      }),
      { numRuns: 300 },
    );
  });

  it('options: random values for every option, unknown and polluting keys; InvalidOptionsError or a working registry', async () => {
    const MAX_MS = 2 ** 31 - 1;
    const numberish = fc.oneof(
      fc.integer({ min: -5, max: 100_000 }),
      fc.double(),
      fc.constantFrom(NaN, Infinity, -Infinity, -0, 0, 1, 0.5, MAX_MS, MAX_MS + 1, 1e20),
      fc.anything(),
    );
    const durations = {
      idleValidationMs: 0,
      probeTimeoutMs: 1,
      createTimeoutMs: 1,
      closeTimeoutMs: 0,
      idleTtlMs: 0,
      maxAgeMs: 0,
      notificationDebounceMs: 0,
      affinityTtlMs: 1,
      heartbeatMs: 1,
    } as const;
    const counts = ['maxSessions', 'maxSessionsPerUpstream'] as const;
    const withMethods = (methods: readonly string[]) =>
      fc.oneof(
        fc.constant(Object.fromEntries(methods.map((m) => [m, () => undefined]))),
        fc.constant(Object.fromEntries(methods.slice(1).map((m) => [m, () => undefined]))),
        fc.anything(),
      );
    const optionArbs = {
      ...Object.fromEntries(Object.keys(durations).map((k) => [k, numberish])),
      ...Object.fromEntries(counts.map((k) => [k, numberish])),
      probes: fc.oneof(
        fc.array(fc.constantFrom('ping', 'tools/list', 'prompts/list', 'resources/list', 'skip'), { maxLength: 5 }),
        fc.array(fc.string({ maxLength: 12 }), { maxLength: 3 }),
        fc.anything(),
      ),
      circuitBreaker: fc.oneof(
        fc.constant(false),
        fc.record({ failureThreshold: numberish, resetMs: numberish }, { requiredKeys: [] }),
        fc.dictionary(fc.string({ maxLength: 8 }), fc.anything(), { maxKeys: 2 }),
        fc.anything(),
      ),
      workerId: idArb,
      logger: withMethods(['debug', 'info', 'warn', 'error']),
      clock: fc.oneof(fc.constant(null).map(() => new ManualClock()), fc.anything()),
      sessionFactory: fc.oneof(fc.constant(null).map(() => new FakeSessionFactory()), fc.anything()),
      affinity: withMethods(['claim', 'refresh', 'release', 'owner', 'reclaim', 'heartbeat', 'isAlive']),
    };
    const optionsArb = fc.oneof(
      { weight: 6, arbitrary: fc.record(optionArbs, { requiredKeys: [] }) },
      {
        weight: 1,
        arbitrary: fc
          .tuple(fc.record(optionArbs, { requiredKeys: [] }), fc.dictionary(fc.string({ maxLength: 10 }), fc.anything(), { maxKeys: 2 }))
          .map(([known, extra]) => ({ ...extra, ...known })),
      },
      { weight: 1, arbitrary: pollutingJson.map((json) => JSON.parse(json) as unknown) },
      { weight: 1, arbitrary: fc.anything({ withNullPrototype: true }) },
    );

    const validDuration = (value: unknown, min: number): boolean =>
      value === undefined || (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= MAX_MS);
    const validCount = (value: unknown, allowInfinity: boolean): boolean =>
      value === undefined || (typeof value === 'number' && ((allowInfinity && value === Infinity) || (Number.isInteger(value) && value >= 1)));
    const hasMethods = (value: unknown, methods: readonly string[]): boolean =>
      value === undefined ||
      (typeof value === 'object' && value !== null && methods.every((m) => typeof (value as Record<string, unknown>)[m] === 'function'));
    const known = new Set(Object.keys(optionArbs));
    const validOptions = (options: unknown): boolean => {
      if (options === undefined) return true;
      if (typeof options !== 'object' || options === null || Array.isArray(options)) return false;
      const o = options as Record<string, unknown>;
      if (Object.keys(o).some((key) => !known.has(key))) return false;
      for (const [key, min] of Object.entries(durations)) if (!validDuration(o[key], min)) return false;
      for (const key of counts) if (!validCount(o[key], true)) return false;
      const probes = o.probes;
      if (
        probes !== undefined &&
        (!Array.isArray(probes) ||
          probes.length === 0 ||
          !probes.every((p) => ['ping', 'tools/list', 'prompts/list', 'resources/list', 'skip'].includes(p as string)))
      ) {
        return false;
      }
      const cb = o.circuitBreaker;
      if (cb !== undefined && cb !== false) {
        if (typeof cb !== 'object' || cb === null) return false;
        const c = cb as Record<string, unknown>;
        if (Object.keys(c).some((key) => key !== 'failureThreshold' && key !== 'resetMs')) return false;
        if (!validCount(c.failureThreshold, false) || !validDuration(c.resetMs, 0)) return false;
      }
      if (o.workerId !== undefined && !validId(o.workerId)) return false;
      return (
        hasMethods(o.logger, ['debug', 'info', 'warn', 'error']) &&
        hasMethods(o.clock, ['now', 'setTimeout', 'clearTimeout']) &&
        hasMethods(o.sessionFactory, ['create']) &&
        hasMethods(o.affinity, ['claim', 'refresh', 'release', 'owner', 'reclaim', 'heartbeat', 'isAlive'])
      );
    };

    await fc.assert(
      fc.asyncProperty(optionsArb, async (options) => {
        const valid = validOptions(options);
        let registry: UpstreamSessionRegistry<FakeUpstreamClient> | undefined;
        try {
          registry = new UpstreamSessionRegistry(options as RegistryOptions<FakeUpstreamClient>);
        } catch (error) {
          captured.errors.push(error);
          if (!(error instanceof InvalidOptionsError) || (error).code !== 'INVALID_OPTIONS') {
            throw new Error(`the constructor threw something other than InvalidOptionsError: ${String(error)}`);
          }
          if (valid) throw new Error(`valid options were rejected: ${(error as Error).message}`);
          return;
        }
        if (!valid) throw new Error('invalid options were accepted');
        captured.snapshots.push(registry.snapshot());
        await registry.closeAll();
      }),
      { numRuns: 600 },
    );
  });

  it('options: getters that throw propagate their own error; a Proxy options object is read like any other', () => {
    const names = ['idleTtlMs', 'probes', 'clock', 'logger', 'circuitBreaker', 'workerId'] as const;
    fc.assert(
      fc.property(fc.constantFrom(...names), fc.boolean(), (name, viaProxy) => {
        const error = new HostileAccessorError(`option ${name}`);
        let options: object;
        if (viaProxy) {
          options = new Proxy({ [name]: undefined }, {
            get: () => {
              throw error;
            },
          });
        } else {
          options = {};
          Object.defineProperty(options, name, {
            enumerable: true,
            get() {
              throw error;
            },
          });
        }
        try {
          new UpstreamSessionRegistry(options);
        } catch (thrown) {
          if (thrown !== error && !(thrown instanceof InvalidOptionsError)) throw new Error(`unexpected ${String(thrown)}`);
          return;
        }
        throw new Error('a throwing getter went unnoticed');
      }),
      { numRuns: 50 },
    );
  });

  it('downstreamSessionIdFromHeaders: any header record gives a valid id or undefined, never an exception', () => {
    const recordArb = fc.oneof(
      fc.dictionary(headerName, fc.oneof(idArb, fc.array(idArb, { maxLength: 3 })), { maxKeys: 5 }),
      fc.tuple(fc.constantFrom('mcp-session-id', 'Mcp-Session-Id', 'MCP-SESSION-ID'), fc.oneof(idArb, fc.array(idArb, { maxLength: 3 }))).map(
        ([name, value]) => ({ [name]: value }),
      ),
      pollutingJson.map((json) => JSON.parse(json) as unknown),
      fc.anything({ withNullPrototype: true, withMap: true }).filter((v) => typeof v === 'object' && v !== null),
    );
    fc.assert(
      fc.property(recordArb, (headers) => {
        const id = downstreamSessionIdFromHeaders(headers as Record<string, string>);
        if (id !== undefined && !validId(id)) throw new Error(`returned an invalid id of length ${id.length}`);
      }),
      { numRuns: 1_000 },
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(headerName.filter((n) => TOKEN.test(n)), fc.string({ maxLength: 30 })), { maxLength: 5 }), (entries) => {
        const headers = new Headers();
        for (const [name, value] of entries) {
          try {
            headers.append(name, value);
          } catch {
            // Fetch Headers rejects some values itself; not this library's concern.
          }
        }
        const id = downstreamSessionIdFromHeaders(headers);
        if (id !== undefined && !validId(id)) throw new Error('returned an invalid id from Fetch Headers');
      }),
      { numRuns: 300 },
    );
  });
});

describe('regressions', () => {
  it('a request whose getters answer differently on each read cannot smuggle an invalid header or URL to the factory', async () => {
    // The registry validates a request, then reads it again to build the factory's copy. A getter that
    // answers a valid value first and an invalid one later gets the invalid value past validation.
    const h = harness({}, captureTo);
    let headerReads = 0;
    const headers = {};
    Object.defineProperty(headers, 'authorization', {
      enumerable: true,
      get: () => (++headerReads === 1 ? 'Bearer sk-toctou-ok' : 'Bearer sk-toctou\r\nX-Injected: 1'),
    });
    let urlReads = 0;
    const request = {
      downstreamSessionId: 'down-1',
      upstreamId: 'up-1',
      headers,
      get url() {
        return ++urlReads <= 2 ? 'http://upstream.test/mcp' : 'not a url';
      },
    };
    secrets.add('sk-toctou-ok');
    secrets.add('sk-toctou');
    const outcome = await settle(() => h.registry.acquire(request));
    if (outcome.ok) (outcome.value as { release(): void }).release();
    else expect(isInvalidRequest(outcome.error)).toBe(true);
    expect(h.factory.requests.length).toBe(outcome.ok ? 1 : 0);
    for (const created of http(h.factory.requests)) {
      expect(Object.values(created.headers).some((value) => /[\r\n\0]/.test(value))).toBe(false);
      expect(URL.canParse(created.url)).toBe(true);
    }
    await dispose(h);
  });
});

describe('secrets never leak', () => {
  it('a factory error that quotes the URL and a header value is redacted in the error message and in logs', async () => {
    const user = 'sk-usr-quoted-1';
    const pass = 'sk-pass-quoted-2';
    const token = 'sk-token-quoted-3';
    const bearer = 'sk-bearer-quoted-4';
    for (const s of [user, pass, token, bearer]) secrets.add(s);
    const url = `https://${user}:${pass}@upstream.test/mcp?token=${token}`;
    // This test's events are kept apart: `session:create-failed` passes the factory's own error object
    // through as it is (documented), and this factory's error quotes secrets on purpose.
    const { factory, registry, events } = harness({}, { logger: new CapturingLogger({ sink: captured.logs }) });
    factory.nextCreate(new Error(`POST ${url} failed: 401 Unauthorized (sent Authorization: Bearer ${bearer})`));
    const outcome = await settle(() =>
      registry.acquire({ downstreamSessionId: 'down-1', upstreamId: 'up-1', url, headers: { Authorization: `Bearer ${bearer}` } }),
    );
    expect(outcome.ok).toBe(false);
    const error = (outcome as { error: unknown }).error;
    expect(error).toBeInstanceOf(SessionCreateError);
    expect((error as Error).message).toContain('https://***:***@upstream.test/mcp?token=***');
    expect(findSecrets([user, pass, token, bearer], { message: (error as Error).message, string: String(error) })).toEqual([]);
    const [failed] = events.payloads('session:create-failed');
    expect(failed?.error).toBe((error as SessionCreateError).cause);
    expect(findSecrets([user, pass, token, bearer], { ...failed, error: undefined })).toEqual([]);
    captured.snapshots.push(registry.snapshot());
    await registry.closeAll();
    expect(captured.logs.some((record) => textOf(record).includes('upstream.test'))).toBe(true);
  });

  it('no header value or URL credential used in this suite appears in any log line, event payload, snapshot or error message', () => {
    // The scan is meaningful: the suite really used secrets, they reached factories, and the registries logged.
    // This check scans what the tests above captured: run the whole file (a `-t` filter leaves it empty).
    expect(tally.valid, 'valid requests the properties above tried').toBeGreaterThan(300);
    expect(tally.invalid, 'invalid requests the properties above tried').toBeGreaterThan(300);
    expect(secrets.size).toBeGreaterThan(500);
    expect(findSecrets(secrets, captured.factoryRequests).length).toBeGreaterThan(50);
    expect(captured.logs.length).toBeGreaterThan(100);
    expect(captured.events.length).toBeGreaterThan(100);
    expect(captured.errors.length).toBeGreaterThan(100);

    expect(findSecrets(secrets, captured.logs)).toEqual([]);
    expect(findSecrets(secrets, captured.events)).toEqual([]);
    expect(findSecrets(secrets, captured.snapshots)).toEqual([]);
    // Library errors: name, message, String(), stack and own fields. Not `cause`: that is the caller's or the
    // factory's own error, kept as it is (SPEC §7: "with the original `cause`").
    const errorTexts = captured.errors
      .filter((error): error is UpstreamSessionError => error instanceof UpstreamSessionError)
      .map((error) => {
        const { cause: _cause, ...fields } = Object.fromEntries(Object.entries(error)) as Record<string, unknown>;
        return { name: error.name, message: error.message, string: String(error), stack: error.stack, fields };
      });
    expect(errorTexts.length).toBeGreaterThan(100);
    expect(findSecrets(secrets, errorTexts)).toEqual([]);
  });
});
