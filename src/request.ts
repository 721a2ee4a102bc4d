import { InvalidRequestError } from './errors.js';
import { type SessionCreateRequest } from './factory.js';
import {
  type HttpTransportKind,
  type SessionKey,
  type SessionRequest,
  type TransportKind,
} from './types.js';

export {
  type HttpSessionRequest,
  type SessionKey,
  type SessionRequest,
  type SessionRequestBase,
  type StdioSessionRequest,
  type TransportKind,
} from './types.js';

/** Fields every validated request has, read exactly once from the caller's object. */
interface ValidRequestBase {
  readonly downstreamSessionId: string;
  readonly upstreamId: string;
  readonly fingerprint?: string;
  readonly signal?: AbortSignal;
  readonly clientCapabilities?: Record<string, unknown>;
  readonly principal?: string;
}

/** A validated HTTP request (its transport resolved). */
export interface ValidHttpRequest extends ValidRequestBase {
  readonly transport: HttpTransportKind;
  readonly url: string;
  readonly headers?: Record<string, string>;
}

/** A validated stdio request (args and env copied and frozen). */
export interface ValidStdioRequest extends ValidRequestBase {
  readonly transport: 'stdio';
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
}

/** What {@link readRequest} returns: a plain copy that passed every input rule. */
export type ValidRequest = ValidHttpRequest | ValidStdioRequest;

const ID_PATTERN = /^[\x21-\x7E]{1,256}$/;
/** What `fetch` cannot send in a header value: a code point above 0xFF, or a control character but HTAB. */
const BAD_HEADER_VALUE = /[^\t\x20-\x7E\xA0-\xFF]/;
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Deepest nesting accepted in `clientCapabilities` (also guards against cycles). */
const MAX_CAPABILITY_DEPTH = 32;

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

const HTTP_TRANSPORTS: ReadonlySet<string> = new Set<HttpTransportKind>(['streamable-http', 'sse']);
const HTTP_ONLY_FIELDS = ['url', 'headers'] as const;
const STDIO_ONLY_FIELDS = ['command', 'args', 'env', 'cwd'] as const;

/** Whether `value` is a valid session or worker id: 1–256 visible ASCII characters (0x21–0x7E), the MCP rule. */
export function isValidId(value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERN.test(value);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `a string of length ${value.length}`;
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

function invalid(field: string, message: string): never {
  throw new InvalidRequestError(field, message);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Checks a session id (`downstreamSessionId` or `upstreamId`): 1–256 characters in 0x21–0x7E.
 * @throws {@link InvalidRequestError} naming the field.
 * @example
 * ```ts
 * assertId('upstreamId', 'github'); // passes
 * ```
 */
export function assertId(field: 'downstreamSessionId' | 'upstreamId', value: unknown): asserts value is string {
  if (!isValidId(value)) {
    invalid(field, `Expected \`${field}\` to be 1-256 visible ASCII characters (0x21-0x7E), got ${describe(value)}`);
  }
}

/**
 * Checks a {@link SessionKey} (for the eviction APIs).
 * @throws {@link InvalidRequestError}
 * @example
 * ```ts
 * assertSessionKey({ downstreamSessionId: 'd-1', upstreamId: 'github' });
 * ```
 */
export function assertSessionKey(key: unknown): asserts key is SessionKey {
  if (typeof key !== 'object' || key === null) invalid('request', `Expected a request object, got ${describe(key)}`);
  const { downstreamSessionId, upstreamId } = key as Partial<SessionKey>;
  assertId('downstreamSessionId', downstreamSessionId);
  assertId('upstreamId', upstreamId);
}

function assertNoNul(field: string, value: string, what: string): void {
  if (value.includes('\0')) invalid(field, `${what} contains NUL`);
}

/** `clientCapabilities`: a plain object of JSON values (no functions, symbols, class instances, cycles). */
function assertJsonValue(value: unknown, depth: number): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) invalid('clientCapabilities', 'Expected `clientCapabilities` to hold only finite numbers');
    return;
  }
  if (depth > MAX_CAPABILITY_DEPTH) {
    invalid('clientCapabilities', `Expected \`clientCapabilities\` to be nested at most ${MAX_CAPABILITY_DEPTH} levels deep`);
  }
  if (Array.isArray(value)) {
    for (const item of value as unknown[]) assertJsonValue(item, depth + 1);
    return;
  }
  if (!isPlainObject(value)) {
    invalid('clientCapabilities', `Expected \`clientCapabilities\` to hold only JSON values, got ${describe(value)}`);
  }
  for (const name of Object.keys(value)) assertJsonValue(value[name], depth + 1);
}

/** A deep, frozen copy of JSON data that already passed {@link assertJsonValue}. */
function freezeJson(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return Object.freeze((value as unknown[]).map(freezeJson));
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(value)) {
    Object.defineProperty(out, name, {
      value: freezeJson((value as Record<string, unknown>)[name]),
      enumerable: true,
    });
  }
  return Object.freeze(out);
}

function readBase(record: Record<string, unknown>): ValidRequestBase {
  const { downstreamSessionId, upstreamId, fingerprint, signal, clientCapabilities, principal } = record;
  assertId('downstreamSessionId', downstreamSessionId);
  assertId('upstreamId', upstreamId);
  const base: { -readonly [K in keyof ValidRequestBase]: ValidRequestBase[K] } = { downstreamSessionId, upstreamId };
  if (fingerprint !== undefined) {
    if (typeof fingerprint !== 'string') invalid('fingerprint', `Expected \`fingerprint\` to be a string, got ${describe(fingerprint)}`);
    base.fingerprint = fingerprint;
  }
  if (signal !== undefined) {
    if (!(signal instanceof AbortSignal)) invalid('signal', `Expected \`signal\` to be an AbortSignal, got ${describe(signal)}`);
    base.signal = signal;
  }
  if (clientCapabilities !== undefined) {
    if (!isPlainObject(clientCapabilities)) {
      invalid('clientCapabilities', `Expected \`clientCapabilities\` to be a plain JSON object, got ${describe(clientCapabilities)}`);
    }
    assertJsonValue(clientCapabilities, 0);
    base.clientCapabilities = freezeJson(clientCapabilities) as Record<string, unknown>;
  }
  if (principal !== undefined) {
    if (!isValidId(principal)) {
      invalid('principal', `Expected \`principal\` to be 1-256 visible ASCII characters (0x21-0x7E), got ${describe(principal)}`);
    }
    base.principal = principal;
  }
  return base;
}

function readStdio(record: Record<string, unknown>, base: ValidRequestBase): ValidStdioRequest {
  for (const field of HTTP_ONLY_FIELDS) {
    if (record[field] !== undefined) invalid(field, `\`${field}\` is not allowed on a stdio request`);
  }
  const { command, args, env, cwd } = record;
  if (typeof command !== 'string' || command.length === 0) {
    invalid('command', `Expected \`command\` to be a non-empty string, got ${describe(command)}`);
  }
  assertNoNul('command', command, '`command`');
  const argsCopy: string[] = [];
  if (args !== undefined) {
    if (!Array.isArray(args)) invalid('args', `Expected \`args\` to be an array of strings, got ${describe(args)}`);
    for (const [i, arg] of (args as unknown[]).entries()) {
      if (typeof arg !== 'string') invalid('args', `Expected \`args[${i}]\` to be a string, got ${describe(arg)}`);
      assertNoNul('args', arg, `\`args[${i}]\``);
      argsCopy.push(arg);
    }
  }
  const request: { -readonly [K in keyof ValidStdioRequest]: ValidStdioRequest[K] } = {
    ...base,
    transport: 'stdio',
    command,
    args: Object.freeze(argsCopy),
  };
  if (env !== undefined) {
    if (!isPlainObject(env)) invalid('env', `Expected \`env\` to be a plain object of strings, got ${describe(env)}`);
    const copy: Record<string, string> = {};
    for (const name of Object.keys(env)) {
      if (!ENV_NAME.test(name)) invalid('env', `Invalid env name (${name.length} characters): expected [A-Za-z_][A-Za-z0-9_]*`);
      const value = env[name];
      if (typeof value !== 'string') invalid('env', `Expected env \`${name}\` to be a string, got ${describe(value)}`);
      assertNoNul('env', value, `env \`${name}\``);
      copy[name] = value;
    }
    request.env = Object.freeze(copy);
  }
  if (cwd !== undefined) {
    if (typeof cwd !== 'string') invalid('cwd', `Expected \`cwd\` to be a string, got ${describe(cwd)}`);
    assertNoNul('cwd', cwd, '`cwd`');
    request.cwd = cwd;
  }
  return request;
}

function readHttp(record: Record<string, unknown>, base: ValidRequestBase, transport: unknown): ValidHttpRequest {
  for (const field of STDIO_ONLY_FIELDS) {
    if (record[field] !== undefined) invalid(field, `\`${field}\` is only allowed on a stdio request`);
  }
  const { url, headers } = record;
  if (typeof url !== 'string') invalid('url', `Expected \`url\` to be a string, got ${describe(url)}`);
  if (transport !== undefined && (typeof transport !== 'string' || !HTTP_TRANSPORTS.has(transport))) {
    invalid('transport', `Expected \`transport\` to be 'streamable-http', 'sse' or 'stdio', got ${describe(transport)}`);
  }
  const request: { -readonly [K in keyof ValidHttpRequest]: ValidHttpRequest[K] } = {
    ...base,
    transport: (transport as HttpTransportKind | undefined) ?? 'streamable-http',
    url,
  };
  if (headers !== undefined) {
    assertHeaders(headers);
    request.headers = headers;
  }
  return request;
}

/**
 * Validates a request and returns a plain copy whose fields were each read exactly once, so a getter that
 * answers differently on a second read cannot slip an unchecked value past validation. Checks ids, types,
 * header names and values, stdio fields, `clientCapabilities` and `principal`. URLs are parsed only by
 * {@link assertUrl}, on creation or when the URL changed. The headers object itself is not copied here;
 * {@link createSessionCreateRequest} copies and re-checks it on creation.
 * @throws {@link InvalidRequestError} naming the field (never repeating a header value, env value or arg).
 * @example
 * ```ts
 * const request = readRequest({ downstreamSessionId: 'd-1', upstreamId: 'fs', transport: 'stdio', command: 'npx' });
 * request.transport; // 'stdio'
 * ```
 */
export function readRequest(input: unknown): ValidRequest {
  if (typeof input !== 'object' || input === null) invalid('request', `Expected a request object, got ${describe(input)}`);
  const record = input as Record<string, unknown>;
  const { transport } = record;
  const base = readBase(record);
  return transport === 'stdio' ? readStdio(record, base) : readHttp(record, base, transport);
}

/**
 * Checks that `headers` is a plain record of string values with valid names and values `fetch` can send (no
 * code point above 0xFF, no control character but horizontal tab). Error messages name the header, never its
 * value.
 * @throws {@link InvalidRequestError}
 * @example
 * ```ts
 * assertHeaders({ authorization: 'Bearer abc' }); // passes
 * assertHeaders({ 'x-name': '李雷' });             // throws InvalidRequestError
 * ```
 */
export function assertHeaders(headers: unknown): asserts headers is Record<string, string> {
  if (!isPlainObject(headers)) invalid('headers', `Expected \`headers\` to be a plain object of strings, got ${describe(headers)}`);
  for (const name in headers) {
    if (!Object.hasOwn(headers, name)) continue;
    const value = headers[name];
    if (!HEADER_NAME.test(name)) invalid('headers', `Invalid header name (${name.length} characters): not an HTTP token`);
    if (typeof value !== 'string') invalid('headers', `Expected header \`${name}\` to be a string, got ${describe(value)}`);
    if (BAD_HEADER_VALUE.test(value)) {
      invalid(
        'headers',
        `Header \`${name}\` has a value fetch cannot send (CR, LF, NUL, another control character, or a code point above 0xFF)`,
      );
    }
  }
}

/**
 * Checks that `url` parses as a URL. The message never repeats the URL (it may carry credentials).
 * @throws {@link InvalidRequestError}
 * @example
 * ```ts
 * assertUrl('https://up.example/mcp'); // passes
 * ```
 */
export function assertUrl(url: string): void {
  if (!URL.canParse(url)) invalid('url', `Expected \`url\` to be an absolute URL, got ${describe(url)} that does not parse`);
}

/**
 * The default connection fingerprint: transport and URL for HTTP; transport, command, args and cwd for stdio.
 * Headers and env are deliberately not part of it (tokens rotate; hosts pass a fingerprint to restart on a
 * credential change).
 * @example
 * ```ts
 * defaultFingerprint({ transport: 'streamable-http', url: 'https://up.example/mcp' }); // 'streamable-http https://up.example/mcp'
 * ```
 */
export function defaultFingerprint(
  request: { readonly transport: HttpTransportKind; readonly url: string } | Pick<ValidStdioRequest, 'transport' | 'command' | 'args' | 'cwd'>,
): string {
  if (request.transport !== 'stdio') return `${request.transport} ${request.url}`;
  return `stdio ${JSON.stringify([request.command, request.args, request.cwd ?? null])}`;
}

/**
 * The base name of a stdio command (`/usr/bin/node` → `node`, `C:\\tools\\srv.exe` → `srv.exe`): the only part of
 * a command snapshots, events and logs show.
 * @example
 * ```ts
 * commandBaseName('/opt/servers/bin/mcp-memory'); // 'mcp-memory'
 * ```
 */
export function commandBaseName(command: string): string {
  const cut = Math.max(command.lastIndexOf('/'), command.lastIndexOf('\\'));
  return cut === -1 ? command : command.slice(cut + 1);
}

/**
 * Returns a frozen copy of `headers` with lower-cased names and internal MCP and hop-by-hop headers removed.
 * Assumes {@link assertHeaders} passed.
 * @example
 * ```ts
 * sanitizeHeaders({ Authorization: 'Bearer x', Host: 'evil' }); // { authorization: 'Bearer x' }
 * ```
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

/**
 * Builds the frozen {@link SessionCreateRequest} a factory receives: headers (HTTP) or args and env (stdio)
 * copied and frozen, `clientCapabilities` deep-frozen.
 * @param request - A request that passed {@link readRequest} (a raw {@link SessionRequest} is read again).
 * @param transport - The transport to create with (ignored for a stdio request, which is always `'stdio'`).
 * @param signal - Aborted when the registry gives up on the creation.
 * @throws {@link InvalidRequestError} when the headers changed since validation and no longer pass.
 * @example
 * ```ts
 * const input: unknown = { downstreamSessionId: 'd-1', upstreamId: 'github', url: 'https://mcp.example/mcp' };
 * const controller = new AbortController();
 * const create = createSessionCreateRequest(readRequest(input), 'streamable-http', controller.signal);
 * ```
 */
export function createSessionCreateRequest(
  request: ValidRequest | SessionRequest,
  transport: TransportKind,
  signal: AbortSignal,
): SessionCreateRequest {
  const valid = readRequest(request);
  const base: Record<string, unknown> = {
    downstreamSessionId: valid.downstreamSessionId,
    upstreamId: valid.upstreamId,
    signal,
  };
  if (valid.clientCapabilities !== undefined) base.clientCapabilities = valid.clientCapabilities;
  if (valid.principal !== undefined) base.principal = valid.principal;
  if (valid.transport === 'stdio') {
    const stdio: Record<string, unknown> = {
      ...base,
      transport: 'stdio',
      command: valid.command,
      args: valid.args,
      env: valid.env ?? Object.freeze({}),
    };
    if (valid.cwd !== undefined) stdio.cwd = valid.cwd;
    return Object.freeze(stdio) as unknown as SessionCreateRequest;
  }
  const headers = sanitizeHeaders(valid.headers);
  // The copy is plain data: check it again, in case the caller's object changed since it was validated.
  assertHeaders(headers);
  const http = transport === 'stdio' ? valid.transport : transport;
  return Object.freeze({ ...base, transport: http, url: valid.url, headers }) as unknown as SessionCreateRequest;
}
