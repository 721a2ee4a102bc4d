import { type ErrorCategory } from './classify/index.js';
import { type EvictReason } from './events.js';
import { redactUrlsInText } from './sanitize.js';

const BRAND = Symbol.for('mcp-upstream-sessions.UpstreamSessionError');
const MAX_CAUSE_LENGTH = 300;

/** A short, URL-sanitized description of an underlying error, safe for messages. */
function describeCause(cause: unknown, secrets: readonly string[]): string {
  const text = cause instanceof Error ? cause.message : typeof cause === 'string' ? cause : 'unknown error';
  let safe = redactUrlsInText(text);
  for (const secret of secrets) if (secret.length > 0) safe = safe.split(secret).join('***');
  return safe.length > MAX_CAUSE_LENGTH ? `${safe.slice(0, MAX_CAUSE_LENGTH)}…` : safe;
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
  | 'NOT_OWNER';

/**
 * Base class of every error this library throws. Each subclass has a stable string `code`.
 *
 * `instanceof` works across duplicate copies of the package (a `Symbol.for` brand plus the `code`), so a
 * host that ends up with two versions in `node_modules` can still write `err instanceof CapacityError`.
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

  constructor(code: UpstreamSessionErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    Object.defineProperty(this, BRAND, { value: true });
    this.name = new.target.name;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== 'object' || value === null || (value as Record<symbol, unknown>)[BRAND] !== true) {
      return false;
    }
    const code = (this as { readonly CODE?: UpstreamSessionErrorCode | undefined }).CODE;
    return code === undefined || (value as { code?: unknown }).code === code;
  }
}

/** A request (ids, url, headers, transport) broke the input rules; nothing was created. */
export class InvalidRequestError extends UpstreamSessionError {
  static override readonly CODE = 'INVALID_REQUEST';
  /** The request field that was rejected, e.g. `upstreamId` or `headers`. */
  readonly field: string;
  constructor(field: string, message: string) {
    super('INVALID_REQUEST', message);
    this.field = field;
  }
}

/** A registry or store option was invalid. Thrown from constructors. */
export class InvalidOptionsError extends UpstreamSessionError {
  static override readonly CODE = 'INVALID_OPTIONS';
  /** The option that was rejected. */
  readonly option: string;
  constructor(option: string, message: string) {
    super('INVALID_OPTIONS', message);
    this.option = option;
  }
}

/** The registry was closed (`closeAll()`); no new sessions are handed out. */
export class RegistryClosedError extends UpstreamSessionError {
  static override readonly CODE = 'REGISTRY_CLOSED';
  constructor(message = 'The upstream session registry is closed') {
    super('REGISTRY_CLOSED', message);
  }
}

/** The session factory failed to create an upstream session. `cause` is the factory's error. */
export class SessionCreateError extends UpstreamSessionError {
  static override readonly CODE = 'CREATE_FAILED';
  /** What kind of failure it was, from {@link classifyError}. */
  readonly category: ErrorCategory;
  /** The upstream the creation was for. */
  readonly upstreamId: string;
  /**
   * @param secrets - Strings that must not appear in the message (the request's header values); the cause's
   * message is included with these and any URL credentials redacted.
   */
  constructor(upstreamId: string, category: ErrorCategory, cause: unknown, secrets: readonly string[] = []) {
    super(
      'CREATE_FAILED',
      `Failed to create upstream session for upstream "${upstreamId}" (${category}): ${describeCause(cause, secrets)}`,
      { cause },
    );
    this.category = category;
    this.upstreamId = upstreamId;
  }
}

/** Creating an upstream session took longer than `createTimeoutMs`. */
export class SessionCreateTimeoutError extends UpstreamSessionError {
  static override readonly CODE = 'CREATE_TIMEOUT';
  /** The limit that was exceeded, in milliseconds. */
  readonly timeoutMs: number;
  /** The upstream the creation was for. */
  readonly upstreamId: string;
  constructor(upstreamId: string, timeoutMs: number) {
    super('CREATE_TIMEOUT', `Timed out creating upstream session for upstream "${upstreamId}" after ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
    this.upstreamId = upstreamId;
  }
}

/** The session (or its pending creation) was evicted while the caller waited for it. */
export class SessionEvictedError extends UpstreamSessionError {
  static override readonly CODE = 'EVICTED';
  /** Why it was evicted. */
  readonly reason: EvictReason;
  constructor(reason: EvictReason) {
    super('EVICTED', `The upstream session was evicted (${reason}) before it could be used`);
    this.reason = reason;
  }
}

/** A session limit was reached and no idle session could be evicted to make room. */
export class CapacityError extends UpstreamSessionError {
  static override readonly CODE = 'CAPACITY';
  /** Which limit: the whole registry or one upstream. */
  readonly scope: 'registry' | 'upstream';
  /** The limit that was reached. */
  readonly limit: number;
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

/** The upstream's circuit breaker is open: creations fail fast until `retryAfterMs` has passed. */
export class CircuitOpenError extends UpstreamSessionError {
  static override readonly CODE = 'CIRCUIT_OPEN';
  /** The upstream whose circuit is open. */
  readonly upstreamId: string;
  /** Milliseconds until a trial creation is let through. */
  readonly retryAfterMs: number;
  constructor(upstreamId: string, retryAfterMs: number) {
    super('CIRCUIT_OPEN', `Circuit open for upstream "${upstreamId}": retry after ${retryAfterMs} ms`);
    this.upstreamId = upstreamId;
    this.retryAfterMs = retryAfterMs;
  }
}

/** Another live worker owns this downstream session; the host should forward the request to `owner`. */
export class NotOwnerError extends UpstreamSessionError {
  static override readonly CODE = 'NOT_OWNER';
  /** The worker id that owns the downstream session. */
  readonly owner: string;
  constructor(downstreamSessionId: string, owner: string) {
    super('NOT_OWNER', `Downstream session "${downstreamSessionId}" is owned by worker "${owner}"`);
    this.owner = owner;
  }
}
