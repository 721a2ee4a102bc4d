/**
 * Test support: a logger that records every call, a recorder for every registry event, and a deep text dump
 * to scan what was recorded for secrets. Used by the hostile-input and model suites; any test may use it.
 *
 * @example
 * ```ts
 * const logger = new CapturingLogger();
 * const registry = new UpstreamSessionRegistry({ sessionFactory: factory, clock, logger });
 * const events = recordEvents(registry);
 * // … drive the registry …
 * expect(findSecrets(['tok-123'], { logs: logger.records, events: events.records })).toEqual([]);
 * ```
 * @packageDocumentation
 */

import { type EventEmitter } from 'eventemitter3';
import { type LogFields, type Logger, type RegistryEvents } from '../../src/index.js';

/** One call to a {@link CapturingLogger}. */
export interface LogRecord {
  readonly level: keyof Logger;
  readonly message: string;
  readonly fields: LogFields | undefined;
}

/** Options of {@link CapturingLogger}. */
export interface CapturingLoggerOptions {
  /** Records go here (share one array between several loggers to capture a whole suite). @default a new array */
  sink?: LogRecord[];
  /** Throw this from every call after recording it (a broken logger the registry must survive). */
  throwError?: unknown;
}

/**
 * A {@link Logger} that records every call, in order. Optionally throws after recording, to check that a
 * broken logger cannot break the registry.
 *
 * @example
 * ```ts
 * const logger = new CapturingLogger();
 * logger.warn('x', { a: 1 });
 * expect(logger.records).toEqual([{ level: 'warn', message: 'x', fields: { a: 1 } }]);
 * ```
 */
export class CapturingLogger implements Logger {
  /** Every call so far. */
  readonly records: LogRecord[];
  readonly #throwError: unknown;
  readonly #throws: boolean;

  /** @param options - See {@link CapturingLoggerOptions}. */
  constructor(options: CapturingLoggerOptions = {}) {
    this.records = options.sink ?? [];
    this.#throws = 'throwError' in options;
    this.#throwError = options.throwError;
  }

  /** Records a debug call. */
  debug(message: string, fields?: LogFields): void {
    this.#record('debug', message, fields);
  }

  /** Records an info call. */
  info(message: string, fields?: LogFields): void {
    this.#record('info', message, fields);
  }

  /** Records a warn call. */
  warn(message: string, fields?: LogFields): void {
    this.#record('warn', message, fields);
  }

  /** Records an error call. */
  error(message: string, fields?: LogFields): void {
    this.#record('error', message, fields);
  }

  /** The records of one level. */
  at(level: keyof Logger): LogRecord[] {
    return this.records.filter((record) => record.level === level);
  }

  #record(level: keyof Logger, message: string, fields: LogFields | undefined): void {
    this.records.push({ level, message, fields });
    if (this.#throws) throw this.#throwError;
  }
}

/** Every event name of {@link RegistryEvents}, in a stable order. */
export const REGISTRY_EVENT_NAMES: readonly (keyof RegistryEvents)[] = Object.freeze([
  'session:created',
  'session:reused',
  'session:evicted',
  'session:create-failed',
  'probe',
  'close:timeout',
  'notification',
  'upstream:list-changed',
  'circuit:open',
  'circuit:close',
  'affinity:error',
] as const);

/** One event a {@link EventRecorder} saw. */
export interface EventRecord<E extends keyof RegistryEvents = keyof RegistryEvents> {
  readonly event: E;
  readonly payload: Parameters<RegistryEvents[E]>[0];
  /** Clock time when it was emitted, if the recorder was given a clock. */
  readonly at: number | undefined;
}

/** What a recorder listens to: the registry (or any emitter of {@link RegistryEvents}). */
export type EventSource = EventEmitter<RegistryEvents>;

/** Options of {@link recordEvents}. */
export interface RecordEventsOptions {
  /** Stamps each record with `clock.now()`. */
  clock?: { now(): number };
  /** Records go here (share one array to capture several registries). @default a new array */
  sink?: EventRecord[];
  /** Records a `structuredClone` of each payload (what it was when emitted, safe from later changes). */
  clone?: boolean;
}

/** Records every registry event; see {@link recordEvents}. */
export interface EventRecorder {
  /** Every event so far, in emission order. */
  readonly records: EventRecord[];
  /** How many times `event` was emitted. */
  count(event: keyof RegistryEvents): number;
  /** The payloads of one event, in order. */
  payloads<E extends keyof RegistryEvents>(event: E): Parameters<RegistryEvents[E]>[0][];
  /** Removes the recorder's listeners. */
  stop(): void;
}

/**
 * Listens to every {@link RegistryEvents} event of `source` and records it.
 *
 * @param source - The registry (or any emitter with `on`/`off`).
 * @param options - See {@link RecordEventsOptions}.
 * @returns The recorder.
 * @example
 * ```ts
 * const events = recordEvents(registry, { clock });
 * await registry.evict(key);
 * expect(events.payloads('session:evicted')[0]?.reason).toBe('evict');
 * ```
 */
export function recordEvents(source: EventSource, options: RecordEventsOptions = {}): EventRecorder {
  const records = options.sink ?? [];
  const { clock, clone = false } = options;
  const emitter = source as unknown as { on(event: string, fn: (payload: unknown) => void): void; off(event: string, fn: (payload: unknown) => void): void };
  const listeners = REGISTRY_EVENT_NAMES.map((event) => {
    const listener = (payload: unknown): void => {
      records.push({ event, payload: clone ? structuredClone(payload) : payload, at: clock?.now() } as EventRecord);
    };
    emitter.on(event, listener);
    return [event, listener] as const;
  });
  return {
    records,
    count: (event) => records.reduce((n, record) => (record.event === event ? n + 1 : n), 0),
    payloads: <E extends keyof RegistryEvents>(event: E) =>
      records.filter((record): record is EventRecord<E> => record.event === event).map((record) => record.payload),
    stop: () => {
      for (const [event, listener] of listeners) emitter.off(event, listener);
    },
  };
}

/**
 * Renders anything as text for secret scanning: every string, number and key reachable from `value`,
 * including each Error's name, message, `String()`, stack, own fields, `cause` chain and `AggregateError`
 * members, getters' results are not evaluated (own enumerable data only). Cycle-safe and bounded.
 *
 * @param value - Anything.
 * @param depth - Most levels to descend. @default 12
 * @returns The dump (JSON-like, not meant to be parsed).
 * @example
 * ```ts
 * expect(textOf({ error: new Error('x', { cause: 'tok' }) })).toContain('tok');
 * ```
 */
export function textOf(value: unknown, depth = 12): string {
  const seen = new WeakSet<object>();
  const parts: string[] = [];
  const walk = (v: unknown, level: number): void => {
    if (typeof v === 'string') {
      parts.push(v);
      return;
    }
    if (typeof v !== 'object' && typeof v !== 'function') {
      parts.push(safeString(v));
      return;
    }
    if (v === null) {
      parts.push('null');
      return;
    }
    if (seen.has(v) || level > depth) return;
    seen.add(v);
    if (v instanceof Error) {
      parts.push(safeString(v), v.name, v.message, v.stack ?? '');
      walk(v.cause, level + 1);
      if (v instanceof AggregateError) walk(v.errors, level + 1);
    }
    if (v instanceof Map) {
      for (const [k, x] of v) {
        walk(k, level + 1);
        walk(x, level + 1);
      }
      return;
    }
    if (v instanceof Set) {
      for (const x of v) walk(x, level + 1);
      return;
    }
    for (const key of Object.keys(v)) {
      parts.push(key);
      const descriptor = Object.getOwnPropertyDescriptor(v, key);
      if (descriptor !== undefined && 'value' in descriptor) walk(descriptor.value, level + 1);
    }
  };
  walk(value, 0);
  return parts.join('\n');
}

function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return '[unprintable]';
  }
}

/** One secret found by {@link findSecrets}. */
export interface SecretFinding {
  readonly secret: string;
  /** Up to 60 characters around the first occurrence. */
  readonly excerpt: string;
}

/**
 * Which of `secrets` occur anywhere in {@link textOf}(`value`). Empty secrets are ignored.
 *
 * @param secrets - Header values, URL credentials, query values….
 * @param value - What to scan (logs, events, snapshots, errors…).
 * @returns One finding per secret that occurs, with an excerpt for the failure message.
 * @example
 * ```ts
 * expect(findSecrets(['s3cret'], { logs: logger.records })).toEqual([]);
 * ```
 */
export function findSecrets(secrets: Iterable<string>, value: unknown): SecretFinding[] {
  const text = textOf(value);
  const wanted = new Set<string>();
  for (const secret of secrets) if (secret.length > 0) wanted.add(secret);
  // One pass over the text: at each position whose first 3 characters start some secret, try each secret
  // length. Much faster than one indexOf per secret when there are thousands of secrets and a large dump.
  const prefixes = new Set<string>();
  const lengths = new Set<number>();
  const short: string[] = [];
  for (const secret of wanted) {
    if (secret.length < 3) short.push(secret);
    else {
      prefixes.add(secret.slice(0, 3));
      lengths.add(secret.length);
    }
  }
  const found = new Map<string, number>();
  for (const secret of short) {
    const at = text.indexOf(secret);
    if (at !== -1) found.set(secret, at);
  }
  if (prefixes.size > 0) {
    for (let at = 0; at + 3 <= text.length; at += 1) {
      if (!prefixes.has(text.slice(at, at + 3))) continue;
      for (const length of lengths) {
        const candidate = text.slice(at, at + length);
        if (candidate.length === length && wanted.has(candidate) && !found.has(candidate)) found.set(candidate, at);
      }
    }
  }
  return [...found].map(([secret, at]) => ({
    secret,
    excerpt: text.slice(Math.max(0, at - 20), at + secret.length + 20),
  }));
}
