import { type AffinityStore } from './affinity/store.js';
import { type Clock } from './clock.js';
import { InvalidOptionsError } from './errors.js';
import { type SessionFactory } from './factory.js';
import { type Logger } from './logger.js';
import { PROBE_STEPS, type ProbeMethod, type ProbeStep } from './types.js';
import { isValidId } from './request.js';

/** Circuit-breaker settings, per upstream. */
export interface CircuitBreakerOptions {
  /** Consecutive creation failures that open the circuit. @default 5 */
  failureThreshold?: number;
  /**
   * How long the circuit stays open before one trial creation is let through; doubles on each consecutive
   * re-open, up to `maxResetMs`. @default 1000
   */
  resetMs?: number;
  /** Longest open period, however many times the circuit re-opened in a row. @default 30000 */
  maxResetMs?: number;
}

/** Options for {@link UpstreamSessionRegistry}. All optional. */
export interface RegistryOptions<C> {
  /** How upstream connections are made. @default createMcpSessionFactory() */
  sessionFactory?: SessionFactory<C>;
  /** Time source for every timer and timestamp. @default systemClock */
  clock?: Clock;
  /** Structured logger. @default silent */
  logger?: Logger;
  /** This worker's id in the affinity store. @default `${hostname}:${pid}:${random}` */
  workerId?: string;
  /** Multi-worker ownership store. @default none (every session is local) */
  affinity?: AffinityStore;
  /** TTL of ownership claims in the affinity store. @default 300000 */
  affinityTtlMs?: number;
  /** Interval of worker heartbeats in the affinity store (heartbeat TTL is 3×). @default 10000 */
  heartbeatMs?: number;
  /**
   * Health-probe chain run on reuse after `idleValidationMs` (or after a suspect failure). `'server/discover'` is
   * not a chain step (a connection's own `probe` sends it). @default ['ping','tools/list','prompts/list','resources/list','skip']
   */
  probes?: readonly ProbeMethod[];
  /** A session idle longer than this is probed before reuse. @default 60000 */
  idleValidationMs?: number;
  /** Timeout of each probe step. @default 5000 */
  probeTimeoutMs?: number;
  /** Timeout of one factory `create`. @default 30000 */
  createTimeoutMs?: number;
  /** Grace window of one `close`; the close is abandoned after twice this. @default 5000 */
  closeTimeoutMs?: number;
  /** Sessions idle (no open lease) this long are closed; 0 = off. @default 3600000 */
  idleTtlMs?: number;
  /** Sessions older than this are closed once idle; 0 = off. @default 0 */
  maxAgeMs?: number;
  /** Most live sessions in the registry. @default 10000 */
  maxSessions?: number;
  /** Most live sessions per upstream. @default Infinity */
  maxSessionsPerUpstream?: number;
  /** Per-upstream circuit breaker on creation failures; `false` = off. @default { failureThreshold: 5, resetMs: 1000, maxResetMs: 30000 } */
  circuitBreaker?: CircuitBreakerOptions | false;
  /** Debounce window of `upstream:list-changed`, per upstream. @default 1000 */
  notificationDebounceMs?: number;
}

/** Options after defaults are applied. */
export interface ResolvedOptions {
  affinityTtlMs: number;
  heartbeatMs: number;
  probes: readonly ProbeStep[];
  idleValidationMs: number;
  probeTimeoutMs: number;
  createTimeoutMs: number;
  closeTimeoutMs: number;
  idleTtlMs: number;
  maxAgeMs: number;
  maxSessions: number;
  maxSessionsPerUpstream: number;
  circuitBreaker: Required<CircuitBreakerOptions> | false;
  notificationDebounceMs: number;
}

/** Default values of every numeric and list option. */
export const DEFAULTS = {
  affinityTtlMs: 300_000,
  heartbeatMs: 10_000,
  probes: PROBE_STEPS,
  idleValidationMs: 60_000,
  probeTimeoutMs: 5_000,
  createTimeoutMs: 30_000,
  closeTimeoutMs: 5_000,
  idleTtlMs: 3_600_000,
  maxAgeMs: 0,
  maxSessions: 10_000,
  maxSessionsPerUpstream: Infinity,
  circuitBreaker: Object.freeze({ failureThreshold: 5, resetMs: 1_000, maxResetMs: 30_000 }),
  notificationDebounceMs: 1_000,
} as const satisfies ResolvedOptions;

const KNOWN_OPTIONS: ReadonlySet<string> = new Set([
  'sessionFactory',
  'clock',
  'logger',
  'workerId',
  'affinity',
  ...Object.keys(DEFAULTS),
]);

/** Largest delay Node timers accept; longer durations would fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

function show(value: unknown): string {
  if (typeof value === 'string') return `\`${JSON.stringify(value)}\` (string)`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return `\`${String(value)}\` (${typeof value})`;
  }
  if (value === null) return '`null`';
  if (Array.isArray(value)) return 'an array';
  return `a value of type ${typeof value}`;
}

function fail(option: string, expected: string, value: unknown): never {
  throw new InvalidOptionsError(option, `Expected \`${option}\` to be ${expected}, got ${show(value)}`);
}

/** A duration in ms: finite, >= `min`, integer, and within Node's timer range. */
function duration(option: string, value: unknown, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > MAX_TIMER_MS) {
    fail(option, `an integer number of milliseconds from ${min} to ${MAX_TIMER_MS}`, value);
  }
  return value;
}

/** A count: a positive integer or `Infinity` (when allowed). */
function count(option: string, value: unknown, fallback: number, allowInfinity: boolean): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number' && ((allowInfinity && value === Infinity) || (Number.isInteger(value) && value >= 1))) {
    return value;
  }
  return fail(option, allowInfinity ? 'an integer >= 1 or Infinity' : 'an integer >= 1', value);
}

function object(option: string, value: unknown, methods: readonly string[]): void {
  if (value === undefined) return;
  if (typeof value !== 'object' || value === null) fail(option, `an object with ${methods.join(', ')}`, value);
  for (const method of methods) {
    if (typeof (value as Record<string, unknown>)[method] !== 'function') {
      fail(option, `an object with a \`${method}\` method`, value);
    }
  }
}

function probes(value: unknown): readonly ProbeStep[] {
  if (value === undefined) return DEFAULTS.probes;
  if (!Array.isArray(value) || value.length === 0) fail('probes', 'a non-empty array of probe names', value);
  for (const step of value as unknown[]) {
    if (typeof step !== 'string' || !(PROBE_STEPS as readonly string[]).includes(step)) {
      throw new InvalidOptionsError(
        'probes',
        `Expected every \`probes\` entry to be one of ${PROBE_STEPS.map((m) => `'${m}'`).join(', ')}, got ${show(step)}`,
      );
    }
  }
  return Object.freeze([...(value as ProbeStep[])]);
}

function circuitBreaker(value: unknown): Required<CircuitBreakerOptions> | false {
  if (value === undefined) return DEFAULTS.circuitBreaker;
  if (value === false) return false;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('circuitBreaker', 'false or an object', value);
  const { failureThreshold, resetMs, maxResetMs, ...rest } = value as Record<string, unknown>;
  const unknownKey = Object.keys(rest)[0];
  if (unknownKey !== undefined) {
    throw new InvalidOptionsError('circuitBreaker', `Unknown option \`circuitBreaker.${unknownKey}\``);
  }
  const reset = duration('circuitBreaker.resetMs', resetMs, DEFAULTS.circuitBreaker.resetMs);
  // An explicit resetMs above the default ceiling raises the ceiling with it (a fixed period, as before).
  const maxReset = duration('circuitBreaker.maxResetMs', maxResetMs, Math.max(reset, DEFAULTS.circuitBreaker.maxResetMs));
  if (maxReset < reset) {
    throw new InvalidOptionsError(
      'circuitBreaker.maxResetMs',
      `Expected \`circuitBreaker.maxResetMs\` to be >= \`circuitBreaker.resetMs\` (${reset}), got ${show(maxReset)}`,
    );
  }
  return Object.freeze({
    failureThreshold: count('circuitBreaker.failureThreshold', failureThreshold, DEFAULTS.circuitBreaker.failureThreshold, false),
    resetMs: reset,
    maxResetMs: maxReset,
  });
}

/**
 * Validates registry options and applies defaults (with `??` semantics: `0` is a value, not "unset").
 * @throws {@link InvalidOptionsError} naming the option and showing the value.
 */
export function resolveOptions(options: unknown): ResolvedOptions {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidOptionsError('options', `Expected options to be an object, got ${show(options)}`);
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!KNOWN_OPTIONS.has(key)) throw new InvalidOptionsError(key, `Unknown option \`${key}\``);
  }
  object('sessionFactory', o.sessionFactory, ['create']);
  object('clock', o.clock, ['now', 'setTimeout', 'clearTimeout']);
  object('logger', o.logger, ['debug', 'info', 'warn', 'error']);
  object('affinity', o.affinity, ['claim', 'refresh', 'release', 'owner', 'reclaim', 'heartbeat', 'isAlive']);
  if (o.workerId !== undefined && !isValidId(o.workerId)) {
    fail('workerId', '1-256 visible ASCII characters', o.workerId);
  }
  return {
    affinityTtlMs: duration('affinityTtlMs', o.affinityTtlMs, DEFAULTS.affinityTtlMs, 1),
    heartbeatMs: duration('heartbeatMs', o.heartbeatMs, DEFAULTS.heartbeatMs, 1),
    probes: probes(o.probes),
    idleValidationMs: duration('idleValidationMs', o.idleValidationMs, DEFAULTS.idleValidationMs),
    probeTimeoutMs: duration('probeTimeoutMs', o.probeTimeoutMs, DEFAULTS.probeTimeoutMs, 1),
    createTimeoutMs: duration('createTimeoutMs', o.createTimeoutMs, DEFAULTS.createTimeoutMs, 1),
    closeTimeoutMs: duration('closeTimeoutMs', o.closeTimeoutMs, DEFAULTS.closeTimeoutMs),
    idleTtlMs: duration('idleTtlMs', o.idleTtlMs, DEFAULTS.idleTtlMs),
    maxAgeMs: duration('maxAgeMs', o.maxAgeMs, DEFAULTS.maxAgeMs),
    maxSessions: count('maxSessions', o.maxSessions, DEFAULTS.maxSessions, true),
    maxSessionsPerUpstream: count('maxSessionsPerUpstream', o.maxSessionsPerUpstream, DEFAULTS.maxSessionsPerUpstream, true),
    circuitBreaker: circuitBreaker(o.circuitBreaker),
    notificationDebounceMs: duration('notificationDebounceMs', o.notificationDebounceMs, DEFAULTS.notificationDebounceMs),
  };
}
