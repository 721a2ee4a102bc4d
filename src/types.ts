/**
 * The registry's vocabulary: plain types and constant lists, with no imports (a leaf of the import graph), so
 * every other module can name them without creating a cycle.
 *
 * @packageDocumentation
 */

/** How an upstream is reached: MCP streamable HTTP, legacy HTTP+SSE, or a child process over stdio. */
export type TransportKind = 'streamable-http' | 'sse' | 'stdio';

/** The HTTP transports (the ones with a `url` and `headers`). */
export type HttpTransportKind = Exclude<TransportKind, 'stdio'>;

/** Every {@link TransportKind}. */
export const TRANSPORT_KINDS: readonly TransportKind[] = Object.freeze(['streamable-http', 'sse', 'stdio'] as const);

/** Identifies one upstream session: exactly one per (downstream session, upstream) pair. */
export interface SessionKey {
  /** The downstream client's session id (e.g. its `Mcp-Session-Id`): 1–256 visible ASCII characters. */
  downstreamSessionId: string;
  /** The host's id for the upstream server: 1–256 visible ASCII characters. */
  upstreamId: string;
}

/** What every {@link SessionRequest} carries, whatever its transport. */
export interface SessionRequestBase extends SessionKey {
  /**
   * Connection identity. A live session whose fingerprint differs is replaced (reason `fingerprint-changed`),
   * and a creation in flight with another fingerprint is aborted.
   * @default transport + url (HTTP), transport + command + args + cwd (stdio)
   */
  fingerprint?: string;
  /** Abandons this caller's wait (rejects with `signal.reason`); a shared creation goes on for others. */
  signal?: AbortSignal;
  /** The downstream client's MCP capabilities, announced upstream for this session (a plain JSON object). */
  clientCapabilities?: Record<string, unknown>;
  /** Id of the authorization context (user, tenant): 1–256 visible ASCII characters. Partitions era verdicts. */
  principal?: string;
}

/** A request for an upstream reached over HTTP (streamable HTTP or legacy SSE). */
export interface HttpSessionRequest extends SessionRequestBase {
  /** Upstream endpoint. Must parse as a URL. */
  url: string;
  /** @default 'streamable-http' */
  transport?: HttpTransportKind;
  /**
   * Sent upstream for the life of the session (not re-sent on reuse). Values must be sendable by `fetch`: no
   * code point above 0xFF and no control character but horizontal tab.
   */
  headers?: Record<string, string>;
}

/** A request for an upstream that runs as one child process per session, spoken to over stdio. */
export interface StdioSessionRequest extends SessionRequestBase {
  transport: 'stdio';
  /** The executable (a path or a name looked up on `PATH`). Only its base name is ever logged. */
  command: string;
  /** Arguments; never logged. */
  args?: readonly string[];
  /** Added to a minimal environment (never the gateway's own); values are never logged. */
  env?: Record<string, string>;
  /** Working directory of the child process. */
  cwd?: string;
}

/** Everything `acquire` and `withSession` need to find or create an upstream session. */
export type SessionRequest = HttpSessionRequest | StdioSessionRequest;

/** Lifecycle state of one upstream session. */
export type SessionState = 'creating' | 'ready' | 'probing' | 'draining' | 'closed';

/** The protocol era of an upstream connection: sessions (up to 2025-11-25) or sessionless (2026-07-28). */
export type ProtocolEra = 'legacy' | 'modern';

/** A plain, JSON-serializable description of one upstream session. Never contains header values, args or env. */
export interface SessionInfo {
  readonly key: SessionKey;
  /** The upstream URL with userinfo and query-parameter values redacted (HTTP transports only). */
  readonly url?: string;
  /** The base name of the stdio command (stdio only; never its path, args or env). */
  readonly command?: string;
  readonly transport: TransportKind;
  /** The protocol era, when the factory reported it. */
  readonly era?: ProtocolEra;
  /** The negotiated protocol version, when the factory reported it. */
  readonly protocolVersion?: string;
  /** Clock time the session became ready (or started creating, while `creating`). */
  readonly createdAt: number;
  /**
   * Clock time the session last became idle: its last lease was released, or it was created or passed a
   * health probe. While `inFlight > 0` the session is in use whatever this says.
   */
  readonly lastUsedAt: number;
  /** How many leases this session has handed out. */
  readonly useCount: number;
  /** Leases currently open. */
  readonly inFlight: number;
  readonly state: SessionState;
  /** A call failed in a way that may mean a wedged upstream: the next acquire probes before reuse. */
  readonly suspect: boolean;
}

/** Every reason a session can leave the registry, in a stable order. */
export const EVICT_REASONS = Object.freeze([
  'evict',
  'session',
  'upstream',
  'close-all',
  'probe-failed',
  'transport-closed',
  'transport-error',
  'idle',
  'max-age',
  'capacity',
  'fingerprint-changed',
] as const);

/** Why a session left the registry. */
export type EvictReason = (typeof EVICT_REASONS)[number];

/** Every step the registry's health-probe chain can run, in the default order. `'skip'` counts as healthy. */
export const PROBE_STEPS = Object.freeze(['ping', 'tools/list', 'prompts/list', 'resources/list', 'skip'] as const);

/** One step of the registry's health-probe chain. */
export type ProbeStep = (typeof PROBE_STEPS)[number];

/**
 * A method a health probe used: a chain step, or `'server/discover'` (what a connection's own `probe` sends to
 * a 2026-07-28 upstream).
 */
export type ProbeMethod = ProbeStep | 'server/discover';

/** Outcome of a health probe: the method that decided it, and the error when unhealthy. */
export type ProbeResult = { healthy: true; method: ProbeMethod } | { healthy: false; method: ProbeMethod; error: unknown };

/** The list kinds an upstream can announce as changed. */
export type ListChangedKind = 'tools' | 'prompts' | 'resources';
