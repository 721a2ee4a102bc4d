import { type ClientCapabilities, type FetchLike, type Implementation } from '@modelcontextprotocol/client';
import { type Clock } from '../../clock.js';
import { type EraStore } from '../../eras/store.js';
import { InvalidOptionsError } from '../../errors.js';
import { type SessionKey } from '../../request.js';
import { type McpServerRequestHandler } from '../server-request.js';

/** Which protocol era the factory speaks to upstreams. */
export type SdkV2EraMode = 'auto' | 'legacy' | 'modern';

/** Options of `createSdkV2SessionFactory`. All optional. */
export interface SdkV2FactoryOptions {
  /**
   * `'auto'`: use the cached era verdict of the (upstream, principal), else probe once with `server/discover`
   * and cache the outcome. `'modern'` pins revision 2026-07-28, `'legacy'` the `initialize` handshake; neither
   * reads nor writes the era store. SSE upstreams are always legacy.
   * @default 'auto'
   */
  era?: SdkV2EraMode;
  /**
   * Where era verdicts are cached. Pass a `RedisEraStore` (`mcp-upstream-sessions/redis`) so a fleet of
   * workers probes each (upstream, principal) once per verdict TTL.
   * @default one `InMemoryEraStore` per factory (on the factory's `clock`)
   */
  eraStore?: EraStore;
  /**
   * How long a legacy verdict is trusted, in milliseconds; then the upstream is probed again, so one
   * upgraded to 2026-07-28 is found (a legacy handshake succeeds silently against an upgraded server).
   * @default 600_000
   */
  legacyVerdictTtlMs?: number;
  /**
   * How long a modern verdict is kept, in milliseconds. A stale one fails loudly and heals (it is deleted
   * and the upstream probed again).
   * @default 3_600_000
   */
  modernVerdictTtlMs?: number;
  /** Time source for verdict ages, listen-stream backoffs and every timer of the factory. @default systemClock */
  clock?: Clock;
  /**
   * Name and version announced upstream (`initialize` on legacy, the request `_meta` on modern).
   * @default { name: 'mcp-upstream-sessions', version: <library version> }
   */
  clientInfo?: Implementation;
  /**
   * Client capabilities announced upstream when the request carries no `clientCapabilities`. With
   * `onServerRequest`, only the `sampling`, `elicitation` and `roots` it declares are relayed.
   * @default `{ sampling: {}, elicitation: {}, roots: {} }` when `onServerRequest` is given, else `{}`
   */
  capabilities?: ClientCapabilities;
  /** `fetch` used for every upstream HTTP request. @default globalThis.fetch */
  fetch?: FetchLike;
  /**
   * Extra `RequestInit` for every upstream HTTP request; its `headers` are the base under the request's
   * headers. Its `signal` is ignored: the transport owns cancellation.
   */
  requestInit?: RequestInit;
  /**
   * Answers legacy server→client requests and modern multi-round-trip (MRTR) input requests alike —
   * `elicitation/create`, `sampling/createMessage`, `roots/list` — with the downstream session in hand, in the
   * async context of the call that caused them. Without it they are answered with method-not-found (legacy)
   * or fail the call (modern).
   */
  onServerRequest?: McpServerRequestHandler;
  /**
   * Deliver modern-era list_changed notifications: one shared `subscriptions/listen` stream per (upstream,
   * principal) per factory, for the list kinds the server advertises, fanned out to every live connection.
   * @default true
   */
  listen?: boolean;
  /** stdio: names of variables passed through from `process.env` on top of the minimal environment. @default [] */
  inheritEnv?: readonly string[];
  /** stdio: receives each line the child writes to stderr. */
  onStderr?: (key: SessionKey, line: string) => void;
  /** Upstream session terminations (HTTP DELETE) run at once, an integer >= 1. @default 64 */
  closeConcurrency?: number;
}

/** The defaults, in one place. */
export const SDK_V2_DEFAULTS = {
  era: 'auto',
  legacyVerdictTtlMs: 600_000,
  modernVerdictTtlMs: 3_600_000,
  listen: true,
  closeConcurrency: 64,
} as const satisfies Partial<SdkV2FactoryOptions>;

const KNOWN: ReadonlySet<string> = new Set([
  'era',
  'eraStore',
  'legacyVerdictTtlMs',
  'modernVerdictTtlMs',
  'clock',
  'clientInfo',
  'capabilities',
  'fetch',
  'requestInit',
  'onServerRequest',
  'listen',
  'inheritEnv',
  'onStderr',
  'closeConcurrency',
]);

function describe(value: unknown): string {
  if (typeof value === 'number') return `\`${String(value)}\` (number)`;
  if (typeof value === 'string') return `\`${value.length > 40 ? `${value.slice(0, 40)}…` : value}\` (string)`;
  if (value === null) return '`null`';
  return typeof value;
}

function fail(option: string, expected: string, value: unknown): never {
  throw new InvalidOptionsError(option, `Expected \`${option}\` to be ${expected}, got ${describe(value)}`);
}

/** Largest TTL accepted (Node's timer range). */
const MAX_TTL_MS = 2_147_483_647;

/**
 * Checks the factory options: known keys only, each of the right type and range.
 * @throws {@link InvalidOptionsError} naming the option and showing the value.
 */
export function validateSdkV2Options(options: unknown): SdkV2FactoryOptions {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) fail('options', 'an object', options);
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!KNOWN.has(key)) throw new InvalidOptionsError(key, `Unknown option \`${key}\``);
  }
  if (o.era !== undefined && o.era !== 'auto' && o.era !== 'legacy' && o.era !== 'modern') fail('era', "'auto', 'legacy' or 'modern'", o.era);
  for (const name of ['legacyVerdictTtlMs', 'modernVerdictTtlMs'] as const) {
    const v = o[name];
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_TTL_MS)) {
      fail(name, `an integer number of milliseconds from 1 to ${MAX_TTL_MS}`, v);
    }
  }
  const c = o.closeConcurrency;
  if (c !== undefined && (typeof c !== 'number' || !Number.isInteger(c) || c < 1)) fail('closeConcurrency', 'an integer >= 1', c);
  const store = o.eraStore as Partial<EraStore> | undefined;
  if (
    store !== undefined &&
    (typeof store !== 'object' || store === null || typeof store.get !== 'function' || typeof store.set !== 'function' || typeof store.delete !== 'function')
  ) {
    fail('eraStore', 'an object with `get`, `set` and `delete` methods', store);
  }
  const clock = o.clock as Partial<Clock> | undefined;
  if (
    clock !== undefined &&
    (typeof clock !== 'object' || clock === null || typeof clock.now !== 'function' || typeof clock.setTimeout !== 'function' || typeof clock.clearTimeout !== 'function')
  ) {
    fail('clock', 'an object with `now`, `setTimeout` and `clearTimeout` methods', clock);
  }
  for (const name of ['fetch', 'onServerRequest', 'onStderr'] as const) {
    if (o[name] !== undefined && typeof o[name] !== 'function') fail(name, 'a function', o[name]);
  }
  for (const name of ['capabilities', 'requestInit'] as const) {
    const v = o[name];
    if (v !== undefined && (typeof v !== 'object' || v === null || Array.isArray(v))) fail(name, 'an object', v);
  }
  if (o.listen !== undefined && typeof o.listen !== 'boolean') fail('listen', 'a boolean', o.listen);
  const env = o.inheritEnv;
  if (env !== undefined && (!Array.isArray(env) || !env.every((name) => typeof name === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/u.test(name)))) {
    fail('inheritEnv', 'an array of environment variable names', env);
  }
  const info = o.clientInfo as Partial<Implementation> | undefined;
  if (info !== undefined && (typeof info !== 'object' || info === null || typeof info.name !== 'string' || typeof info.version !== 'string')) {
    throw new InvalidOptionsError('clientInfo', 'Expected `clientInfo` to be an object with string `name` and `version`');
  }
  return o;
}
