import { InvalidRequestError } from './errors.js';
import { type SessionCreateRequest } from './factory.js';

/** How the upstream is reached. */
export type TransportKind = 'streamable-http' | 'sse';

/** Identifies one upstream session: exactly one per (downstream session, upstream) pair. */
export interface SessionKey {
  /** The downstream client's session id (e.g. its `Mcp-Session-Id`): 1–256 visible ASCII characters. */
  downstreamSessionId: string;
  /** The host's id for the upstream server: 1–256 visible ASCII characters. */
  upstreamId: string;
}

/** Everything `acquire` and `withSession` need to find or create an upstream session. */
export interface SessionRequest extends SessionKey {
  /** Upstream endpoint. Must parse as a URL. */
  url: string;
  /** @default 'streamable-http' */
  transport?: TransportKind;
  /** Sent upstream when the session is created (not on reuse). Values must not contain CR, LF or NUL. */
  headers?: Record<string, string>;
  /**
   * Connection identity. A live session whose fingerprint differs is replaced (reason `fingerprint-changed`).
   * @default transport + ' ' + url
   */
  fingerprint?: string;
  /** Abandons this caller's wait (rejects with `signal.reason`); a shared creation goes on for others. */
  signal?: AbortSignal;
}

const ID_PATTERN = /^[\x21-\x7E]{1,256}$/;
const BAD_HEADER_VALUE = /[\r\n\0]/;
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Headers the registry removes before a factory sees them (lower-case). */
export const REMOVED_HEADERS: ReadonlySet<string> = new Set([
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

const TRANSPORTS: ReadonlySet<string> = new Set<TransportKind>(['streamable-http', 'sse']);

/** Whether `value` is a valid session or worker id: 1–256 visible ASCII characters (0x21–0x7E), the MCP rule. */
export function isValidId(value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERN.test(value);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `a string of length ${value.length}`;
  if (value === null) return 'null';
  return typeof value;
}

/**
 * Checks a session id (`downstreamSessionId` or `upstreamId`): 1–256 characters in 0x21–0x7E.
 * @throws {@link InvalidRequestError} naming the field.
 */
export function assertId(field: 'downstreamSessionId' | 'upstreamId', value: unknown): asserts value is string {
  if (!isValidId(value)) {
    throw new InvalidRequestError(
      field,
      `Expected \`${field}\` to be 1-256 visible ASCII characters (0x21-0x7E), got ${describe(value)}`,
    );
  }
}

/**
 * Checks a {@link SessionKey} (for the eviction APIs).
 * @throws {@link InvalidRequestError}
 */
export function assertSessionKey(key: unknown): asserts key is SessionKey {
  if (typeof key !== 'object' || key === null) {
    throw new InvalidRequestError('request', `Expected a request object, got ${describe(key)}`);
  }
  const { downstreamSessionId, upstreamId } = key as Partial<SessionKey>;
  assertId('downstreamSessionId', downstreamSessionId);
  assertId('upstreamId', upstreamId);
}

/**
 * Validates a request and returns a plain copy whose fields were each read exactly once, so a getter that
 * answers differently on a second read cannot slip an unchecked value past validation. Checks only what is
 * cheap enough for every acquire: ids, types, and header values (the headers object itself is not copied
 * here; {@link createSessionCreateRequest} copies and re-checks it on creation). URLs are parsed only by
 * {@link assertUrl}, on creation or when the URL changed.
 * @throws {@link InvalidRequestError}
 */
export function readRequest(input: unknown): SessionRequest {
  if (typeof input !== 'object' || input === null) {
    throw new InvalidRequestError('request', `Expected a request object, got ${describe(input)}`);
  }
  const { downstreamSessionId, upstreamId, url, transport, headers, fingerprint, signal } = input as Record<
    keyof SessionRequest,
    unknown
  >;
  assertId('downstreamSessionId', downstreamSessionId);
  assertId('upstreamId', upstreamId);
  if (typeof url !== 'string') {
    throw new InvalidRequestError('url', `Expected \`url\` to be a string, got ${describe(url)}`);
  }
  const request: SessionRequest = { downstreamSessionId, upstreamId, url };
  if (transport !== undefined) {
    if (typeof transport !== 'string' || !TRANSPORTS.has(transport)) {
      throw new InvalidRequestError('transport', `Expected \`transport\` to be 'streamable-http' or 'sse', got ${describe(transport)}`);
    }
    request.transport = transport as TransportKind;
  }
  if (fingerprint !== undefined) {
    if (typeof fingerprint !== 'string') {
      throw new InvalidRequestError('fingerprint', `Expected \`fingerprint\` to be a string, got ${describe(fingerprint)}`);
    }
    request.fingerprint = fingerprint;
  }
  if (signal !== undefined) {
    if (!(signal instanceof AbortSignal)) {
      throw new InvalidRequestError('signal', `Expected \`signal\` to be an AbortSignal, got ${describe(signal)}`);
    }
    request.signal = signal;
  }
  if (headers !== undefined) {
    assertHeaders(headers);
    request.headers = headers;
  }
  return request;
}

/**
 * Checks that `headers` is a plain record of string values with valid names and no CR, LF or NUL.
 * Error messages name the header, never its value.
 * @throws {@link InvalidRequestError}
 */
export function assertHeaders(headers: unknown): asserts headers is Record<string, string> {
  const proto: unknown = typeof headers === 'object' && headers !== null ? Object.getPrototypeOf(headers) : undefined;
  if (proto !== Object.prototype && proto !== null) {
    throw new InvalidRequestError('headers', `Expected \`headers\` to be a plain object of strings, got ${describe(headers)}`);
  }
  const record = headers as Record<string, unknown>;
  for (const name in record) {
    if (!Object.hasOwn(record, name)) continue;
    const value = record[name];
    if (!HEADER_NAME.test(name)) {
      throw new InvalidRequestError('headers', `Invalid header name (${name.length} characters): not an HTTP token`);
    }
    if (typeof value !== 'string') {
      throw new InvalidRequestError('headers', `Expected header \`${name}\` to be a string, got ${describe(value)}`);
    }
    if (BAD_HEADER_VALUE.test(value)) {
      throw new InvalidRequestError('headers', `Header \`${name}\` contains CR, LF or NUL`);
    }
  }
}

/**
 * Checks that `url` parses as a URL. The message never repeats the URL (it may carry credentials).
 * @throws {@link InvalidRequestError}
 */
export function assertUrl(url: string): void {
  if (!URL.canParse(url)) {
    throw new InvalidRequestError('url', `Expected \`url\` to be an absolute URL, got ${describe(url)} that does not parse`);
  }
}

/** The default connection fingerprint: transport and URL. Headers are deliberately not part of it. */
export function defaultFingerprint(transport: TransportKind, url: string): string {
  return `${transport} ${url}`;
}

/**
 * Returns a frozen copy of `headers` with lower-cased names and internal MCP and hop-by-hop headers removed.
 * Assumes {@link assertHeaders} passed.
 */
export function sanitizeHeaders(headers: Record<string, string> | undefined): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  if (headers !== undefined) {
    for (const name in headers) {
      if (!Object.hasOwn(headers, name)) continue;
      const lower = name.toLowerCase();
      if (REMOVED_HEADERS.has(lower)) continue;
      // defineProperty: a header named `__proto__` is kept as a header, never touches the prototype.
      Object.defineProperty(out, lower, { value: headers[name], enumerable: true, writable: true, configurable: true });
    }
  }
  return Object.freeze(out);
}

/** Builds the frozen {@link SessionCreateRequest} a factory receives. */
export function createSessionCreateRequest(
  request: SessionRequest,
  transport: TransportKind,
  signal: AbortSignal,
): SessionCreateRequest {
  const headers = sanitizeHeaders(request.headers);
  // The copy is plain data: check it again, in case the caller's object changed since it was validated.
  assertHeaders(headers);
  return Object.freeze({
    downstreamSessionId: request.downstreamSessionId,
    upstreamId: request.upstreamId,
    url: request.url,
    transport,
    headers,
    signal,
  });
}
