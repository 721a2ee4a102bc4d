/**
 * Every error the library can hand to a caller: one base class with a stable string `code`, one subclass per
 * failure, `instanceof` that keeps ordinary subclass semantics and works across duplicate package copies.
 *
 * @packageDocumentation
 */

import { type ErrorCategory } from './classify/index.js';
import { type EvictReason } from './types.js';
import { brandErrorClass as brand, hasErrorInstance as hasInstance, stampErrorBrands as stampBrands } from './error-brand.js';
import { redactText } from './sanitize.js';

/** Longest cause message included in a library-built message (the stdio failure categories are exempt). */
const MAX_CAUSE_LENGTH = 300;

/** Longest cause message of a stdio failure (its stderr tail is bounded to 8 KiB by the spawner). */
const MAX_STDIO_CAUSE_LENGTH = 16_384;

/** Categories whose cause message is already safe and is kept whole: it carries the child's stderr tail. */
const FULL_CAUSE_CATEGORIES: ReadonlySet<ErrorCategory> = new Set(['spawn_failed', 'process_exited']);

/** A short, redacted description of an underlying error, safe for messages. */
function describeCause(cause: unknown, secrets: readonly string[], limit: number): string {
  let text: string;
  try {
    text = cause instanceof Error ? cause.message : typeof cause === 'string' ? cause : 'unknown error';
  } catch {
    text = 'unknown error';
  }
  const safe = redactText(typeof text === 'string' ? text : 'unknown error', secrets);
  return safe.length > limit ? `${safe.slice(0, limit)}…` : safe;
}

/** Every stable error `code` this library throws. */
export type UpstreamSessionErrorCode =
  | 'INVALID_REQUEST'
  | 'INVALID_OPTIONS'
  | 'REGISTRY_CLOSED'
  | 'CREATE_FAILED'
  | 'CREATE_TIMEOUT'
  | 'EVICTED'
  | 'CAPACITY'
  | 'CIRCUIT_OPEN'
  | 'NOT_OWNER'
  | 'PROBE_TIMEOUT'
  | 'STORE_TIMEOUT'
  | 'CLOSE_GRACE_ENDED';

/**
 * Base class of every error this library throws. Each subclass has a stable string `code`.
 *
 * `instanceof` has ordinary subclass semantics (`CapacityError.prototype instanceof UpstreamSessionError`; an
 * instance of a host's own subclass is an instance of its parents) and also works across duplicate copies of
 * the package: every instance carries the brands of the library classes in its chain under a `Symbol.for` key,
 * so `err instanceof CapacityError` holds for a `CapacityError` built by another copy in `node_modules`. Brands
 * belong to library classes only: a host's subclass matches by prototype alone, and a host class that merely
 * reuses a library `code` is not taken for the library class of that code.
 *
 * @example
 * ```ts
 * try { await registry.acquire(request); }
 * catch (err) { if (err instanceof UpstreamSessionError) log.warn(err.code); else throw err; }
 * ```
 */
export class UpstreamSessionError extends Error {
  /** Set on subclasses: the `code` their instances carry. */
  static readonly CODE: UpstreamSessionErrorCode | undefined = undefined;

  /** Stable machine-readable code. */
  readonly code: UpstreamSessionErrorCode;

  /**
   * @param code - The stable code.
   * @param message - What happened; never a secret (the library's own messages are redacted).
   * @param options - `cause`: the underlying error, kept as it was (hosts must not log it verbatim).
   */
  constructor(code: UpstreamSessionErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    stampBrands(this, new.target);
    this.name = new.target.name;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return hasInstance(this, value);
  }
}
brand(UpstreamSessionError, 'UpstreamSessionError');

/**
 * A request (ids, url, headers, transport, stdio fields) broke the input rules; nothing was created.
 *
 * @example
 * ```ts
 * await registry.acquire({ downstreamSessionId: '', upstreamId: 'u', url: 'https://up.example/mcp' })
 *   .catch((err) => { if (err instanceof InvalidRequestError) console.log(err.field); }); // 'downstreamSessionId'
 * ```
 */
export class InvalidRequestError extends UpstreamSessionError {
  static override readonly CODE = 'INVALID_REQUEST';
  /** The request field that was rejected, e.g. `upstreamId` or `headers`. */
  readonly field: string;
  /**
   * @param field - The rejected field.
   * @param message - Names the field and the rule; never repeats a header value.
   */
  constructor(field: string, message: string) {
    super('INVALID_REQUEST', message);
    this.field = field;
  }
}
brand(InvalidRequestError, 'InvalidRequestError');

/**
 * A registry, factory, store or probe-chain option was invalid. Thrown from constructors (and rejected by
 * `runProbeChain`).
 *
 * @example
 * ```ts
 * try { new UpstreamSessionRegistry({ maxSessions: 0 }); }
 * catch (err) { if (err instanceof InvalidOptionsError) console.log(err.option); } // 'maxSessions'
 * ```
 */
export class InvalidOptionsError extends UpstreamSessionError {
  static override readonly CODE = 'INVALID_OPTIONS';
  /** The option that was rejected. */
  readonly option: string;
  /**
   * @param option - The rejected option.
   * @param message - Names the option and shows the value.
   */
  constructor(option: string, message: string) {
    super('INVALID_OPTIONS', message);
    this.option = option;
  }
}
brand(InvalidOptionsError, 'InvalidOptionsError');

/**
 * The registry was closed (`closeAll()`); no new sessions are handed out.
 *
 * @example
 * ```ts
 * await registry.closeAll();
 * await registry.acquire(request).catch((err) => err instanceof RegistryClosedError); // true
 * ```
 */
export class RegistryClosedError extends UpstreamSessionError {
  static override readonly CODE = 'REGISTRY_CLOSED';
  /** @param message - Defaults to a generic sentence. */
  constructor(message = 'The upstream session registry is closed') {
    super('REGISTRY_CLOSED', message);
  }
}
brand(RegistryClosedError, 'RegistryClosedError');

/**
 * The session factory failed to create an upstream session. `cause` is the factory's error, kept as it was:
 * it may hold what the upstream echoed back (hosts must not log `cause` verbatim); the message is redacted.
 *
 * @example
 * ```ts
 * registry.acquire(request).catch((err) => {
 *   if (err instanceof SessionCreateError) metrics.increment(`create_failed.${err.category}`);
 * });
 * ```
 */
export class SessionCreateError extends UpstreamSessionError {
  static override readonly CODE = 'CREATE_FAILED';
  /** What kind of failure it was, from {@link classifyError}. */
  readonly category: ErrorCategory;
  /** The upstream the creation was for. */
  readonly upstreamId: string;
  /**
   * @param upstreamId - The upstream the creation was for.
   * @param category - From {@link classifyError}.
   * @param cause - The factory's error, kept as `cause`.
   * @param secrets - Strings that must not appear in the message (the request's header values, env values and
   * long args, see `requestSecrets`); the cause's message is included with these, URL credentials and query
   * values, and `Bearer …` tokens redacted, cut at 300 characters — except for `spawn_failed` and
   * `process_exited`, whose message (the child's scrubbed stderr tail) is kept whole.
   */
  constructor(upstreamId: string, category: ErrorCategory, cause: unknown, secrets: readonly string[] = []) {
    const limit = FULL_CAUSE_CATEGORIES.has(category) ? MAX_STDIO_CAUSE_LENGTH : MAX_CAUSE_LENGTH;
    super(
      'CREATE_FAILED',
      `Failed to create upstream session for upstream "${upstreamId}" (${category}): ${describeCause(cause, secrets, limit)}`,
      { cause },
    );
    this.category = category;
    this.upstreamId = upstreamId;
  }
}
brand(SessionCreateError, 'SessionCreateError');

/**
 * Creating an upstream session took longer than `createTimeoutMs`.
 *
 * @example
 * ```ts
 * registry.acquire(request).catch((err) => { if (err instanceof SessionCreateTimeoutError) console.log(err.timeoutMs); });
 * ```
 */
export class SessionCreateTimeoutError extends UpstreamSessionError {
  static override readonly CODE = 'CREATE_TIMEOUT';
  /** The limit that was exceeded, in milliseconds. */
  readonly timeoutMs: number;
  /** The upstream the creation was for. */
  readonly upstreamId: string;
  /**
   * @param upstreamId - The upstream the creation was for.
   * @param timeoutMs - The limit that was exceeded.
   */
  constructor(upstreamId: string, timeoutMs: number) {
    super('CREATE_TIMEOUT', `Timed out creating upstream session for upstream "${upstreamId}" after ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
    this.upstreamId = upstreamId;
  }
}
brand(SessionCreateTimeoutError, 'SessionCreateTimeoutError');

/**
 * The session (or its pending creation) was evicted while the caller waited for it.
 *
 * @example
 * ```ts
 * registry.acquire(request).catch((err) => { if (err instanceof SessionEvictedError) console.log(err.reason); });
 * ```
 */
export class SessionEvictedError extends UpstreamSessionError {
  static override readonly CODE = 'EVICTED';
  /** Why it was evicted. */
  readonly reason: EvictReason;
  /** @param reason - Why it was evicted. */
  constructor(reason: EvictReason) {
    super('EVICTED', `The upstream session was evicted (${reason}) before it could be used`);
    this.reason = reason;
  }
}
brand(SessionEvictedError, 'SessionEvictedError');

/**
 * A session limit was reached and no idle session could be evicted to make room.
 *
 * @example
 * ```ts
 * registry.acquire(request).catch((err) => { if (err instanceof CapacityError) res.writeHead(503).end(); });
 * ```
 */
export class CapacityError extends UpstreamSessionError {
  static override readonly CODE = 'CAPACITY';
  /** Which limit: the whole registry or one upstream. */
  readonly scope: 'registry' | 'upstream';
  /** The limit that was reached. */
  readonly limit: number;
  /**
   * @param scope - `maxSessions` (`'registry'`) or `maxSessionsPerUpstream` (`'upstream'`).
   * @param limit - The limit that was reached.
   * @param upstreamId - The upstream, for the `'upstream'` scope.
   */
  constructor(scope: 'registry' | 'upstream', limit: number, upstreamId?: string) {
    super(
      'CAPACITY',
      scope === 'registry'
        ? `Session limit reached: ${limit} sessions (maxSessions) are open and none is idle`
        : `Session limit reached for upstream "${upstreamId ?? ''}": ${limit} sessions (maxSessionsPerUpstream) are open and none is idle`,
    );
    this.scope = scope;
    this.limit = limit;
  }
}
brand(CapacityError, 'CapacityError');

/**
 * The upstream's circuit breaker is open: creations fail fast until `retryAfterMs` has passed.
 *
 * @example
 * ```ts
 * registry.acquire(request).catch((err) => {
 *   if (err instanceof CircuitOpenError) res.setHeader('retry-after', Math.ceil(err.retryAfterMs / 1000));
 * });
 * ```
 */
export class CircuitOpenError extends UpstreamSessionError {
  static override readonly CODE = 'CIRCUIT_OPEN';
  /** The upstream whose circuit is open. */
  readonly upstreamId: string;
  /** Milliseconds until a trial creation is let through. */
  readonly retryAfterMs: number;
  /**
   * @param upstreamId - The upstream whose circuit is open.
   * @param retryAfterMs - Milliseconds until a trial creation is let through.
   */
  constructor(upstreamId: string, retryAfterMs: number) {
    super('CIRCUIT_OPEN', `Circuit open for upstream "${upstreamId}": retry after ${retryAfterMs} ms`);
    this.upstreamId = upstreamId;
    this.retryAfterMs = retryAfterMs;
  }
}
brand(CircuitOpenError, 'CircuitOpenError');

/**
 * Another live worker owns this downstream session; the host should forward the request to `owner`.
 *
 * @example
 * ```ts
 * registry.acquire(request).catch((err) => { if (err instanceof NotOwnerError) return forwardTo(err.owner); throw err; });
 * ```
 */
export class NotOwnerError extends UpstreamSessionError {
  static override readonly CODE = 'NOT_OWNER';
  /** The worker id that owns the downstream session. */
  readonly owner: string;
  /**
   * @param downstreamSessionId - The downstream session.
   * @param owner - The worker that owns it.
   */
  constructor(downstreamSessionId: string, owner: string) {
    super('NOT_OWNER', `Downstream session "${downstreamSessionId}" is owned by worker "${owner}"`);
    this.owner = owner;
  }
}
brand(NotOwnerError, 'NotOwnerError');

/**
 * A health-probe step did not answer within `probeTimeoutMs` (`runProbeChain`'s `timeoutMs`). Reported as the
 * `error` of an unhealthy `ProbeResult` (and in `probe` events); the step's request is aborted with it.
 *
 * @example
 * ```ts
 * const result = await runProbeChain(client, { probes: ['ping'], timeoutMs: 1_000 });
 * if (!result.healthy && result.error instanceof ProbeTimeoutError) console.log(result.error.timeoutMs); // 1000
 * ```
 */
export class ProbeTimeoutError extends UpstreamSessionError {
  static override readonly CODE = 'PROBE_TIMEOUT';
  /** The probe step that timed out (a `ProbeMethod`, e.g. `'ping'`). */
  readonly method: string;
  /** The limit that was exceeded, in milliseconds. */
  readonly timeoutMs: number;
  /**
   * @param method - The probe step.
   * @param timeoutMs - The limit that was exceeded.
   */
  constructor(method: string, timeoutMs: number) {
    super('PROBE_TIMEOUT', `Health probe ${method} timed out after ${timeoutMs} ms`);
    this.method = method;
    this.timeoutMs = timeoutMs;
  }
}
brand(ProbeTimeoutError, 'ProbeTimeoutError');

/**
 * An affinity store call did not settle within the ownership's store timeout. The registry fails open (routes
 * locally) and reports it in an `affinity:error` event and the log; it never reaches `acquire` callers.
 *
 * @example
 * ```ts
 * registry.on('affinity:error', ({ error }) => { if (error instanceof StoreTimeoutError) console.log(error.operation); });
 * ```
 */
export class StoreTimeoutError extends UpstreamSessionError {
  static override readonly CODE = 'STORE_TIMEOUT';
  /** The store method that timed out, e.g. `'claim'` or `'heartbeat'`. */
  readonly operation: string;
  /** The limit that was exceeded, in milliseconds. */
  readonly timeoutMs: number;
  /**
   * @param operation - The store method.
   * @param timeoutMs - The limit that was exceeded.
   */
  constructor(operation: string, timeoutMs: number) {
    super('STORE_TIMEOUT', `Affinity store ${operation} did not answer within ${timeoutMs} ms`);
    this.operation = operation;
    this.timeoutMs = timeoutMs;
  }
}
brand(StoreTimeoutError, 'StoreTimeoutError');

/**
 * The abort reason of the `signal` a connection's `close(signal)` gets: the graceful close window
 * (`closeTimeoutMs`) ended, so the factory should stop being polite (abort its DELETE, kill its process).
 *
 * @example
 * ```ts
 * const connection = {
 *   async close(signal: AbortSignal) {
 *     signal.addEventListener('abort', () => {
 *       if (signal.reason instanceof CloseGraceEndedError) child.kill('SIGKILL');
 *     });
 *   },
 * };
 * ```
 */
export class CloseGraceEndedError extends UpstreamSessionError {
  static override readonly CODE = 'CLOSE_GRACE_ENDED';
  /** The grace window that ended, in milliseconds. */
  readonly graceMs: number;
  /** @param graceMs - The grace window that ended. */
  constructor(graceMs: number) {
    super('CLOSE_GRACE_ENDED', `Close grace window of ${graceMs} ms ended`);
    this.graceMs = graceMs;
  }
}
brand(CloseGraceEndedError, 'CloseGraceEndedError');
