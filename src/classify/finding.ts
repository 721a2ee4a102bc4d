/**
 * The vocabulary of error classification: categories, what one error says about itself (a {@link Finding}),
 * how specific each category is, and the shape of a recognizer.
 *
 * @packageDocumentation
 */

/** Every {@link ErrorCategory}, most specific first. */
export const ERROR_CATEGORIES = Object.freeze([
  'connection_refused',
  'connection_reset',
  'dns',
  'tls',
  'spawn_failed',
  'process_exited',
  'timeout',
  'auth_unauthorized',
  'auth_forbidden',
  'not_found',
  'upstream_server_error',
  'http_error',
  'era_negotiation',
  'mcp_protocol_error',
  'network',
  'unknown',
] as const);

/** What kind of failure an error represents (see `classifyError`). */
export type ErrorCategory = (typeof ERROR_CATEGORIES)[number];

/** What one error in the graph says about itself. */
export interface Finding {
  readonly category: ErrorCategory;
  /** The failure hit the connection itself (counts only if this finding is the most specific one). */
  readonly transport: boolean;
  /** The upstream session is certainly gone: a transport error whatever else the graph says. */
  readonly sessionGone: boolean;
  /** The upstream may be wedged or half-broken: the next acquire should probe before reuse (SPEC §4.4). */
  readonly suspect: boolean;
}

/** The facts every recognizer reads from one error, read once and defensively. */
export interface ErrorFacts {
  /** The error itself (own properties and getters may throw; recognizers run inside a try). */
  readonly error: Readonly<Record<PropertyKey, unknown>>;
  /** `error.name` when a string, else `''`. */
  readonly name: string;
  /** `error.message` when a string, else `''`. */
  readonly message: string;
  /** `error.code`, whatever its type. */
  readonly code: unknown;
  /** The message says the upstream no longer knows the session (see `saysSessionGone`). */
  readonly gone: boolean;
}

/**
 * One recognizer: what a single error (ignoring its causes) says, or `undefined` when it is not the kind of
 * error this recognizer knows. Recognizers run in a fixed order; the first answer for an error wins.
 */
export type Recognizer = (facts: ErrorFacts) => Finding | undefined;

/**
 * Lower is more specific. The most specific finding anywhere in the graph decides: socket, DNS and TLS causes
 * and stdio process failures first (`fetch failed` caused by `ECONNREFUSED` is `connection_refused`), then
 * timeouts, then the HTTP status, then `era_negotiation`, then MCP protocol errors, then generic network
 * failures.
 */
export const RANK: Readonly<Record<ErrorCategory, number>> = {
  connection_refused: 0,
  connection_reset: 0,
  dns: 0,
  tls: 0,
  spawn_failed: 0,
  process_exited: 0,
  timeout: 1,
  auth_unauthorized: 2,
  auth_forbidden: 2,
  not_found: 2,
  upstream_server_error: 2,
  http_error: 2,
  era_negotiation: 3,
  mcp_protocol_error: 4,
  network: 5,
  unknown: 6,
};

/** Builds a frozen {@link Finding}; a session-gone finding is always a transport finding. */
export function finding(
  category: ErrorCategory,
  flags: { transport?: boolean; sessionGone?: boolean; suspect?: boolean } = {},
): Finding {
  const sessionGone = flags.sessionGone === true;
  return Object.freeze({
    category,
    transport: flags.transport === true || sessionGone,
    sessionGone,
    suspect: flags.suspect === true,
  });
}

/** The finding of an HTTP status: 401/403 are auth failures, 5xx and every other 4xx make the session suspect. */
export function httpFinding(status: unknown, sessionGone: boolean): Finding {
  let category: ErrorCategory = 'http_error';
  if (status === 401) category = 'auth_unauthorized';
  else if (status === 403) category = 'auth_forbidden';
  else if (status === 404) category = 'not_found';
  else if (typeof status === 'number' && status >= 500 && status <= 599) category = 'upstream_server_error';
  const suspect = typeof status === 'number' && status >= 400 && status <= 599 && status !== 401 && status !== 403;
  return finding(category, { sessionGone, suspect });
}

/** HTTP 404 (and 410 Gone) on a session-bound request: the upstream forgot the session. */
export function isSessionGoneStatus(status: unknown): boolean {
  return status === 404 || status === 410;
}
