/**
 * The registry's `diagnostics_channel` publications (SPEC §10): the channel names, the context objects
 * subscribers receive, and the small publish helpers the registry calls.
 *
 * `create`, `probe` and `close` are `TracingChannel`s; `evict` is a plain channel. The helpers publish the
 * `tracePromise`-style sequence by hand: `start` in the async context of the caller that triggered the
 * operation, `end` when the synchronous part has returned, then on settle `error` (failures only),
 * `asyncStart` and `asyncEnd`. Each helper returns at once when nobody subscribes (one `hasSubscribers` read),
 * and the reuse fast path publishes nothing at all.
 *
 * Contexts carry the session key, upstream id, transport, sanitized URL (or the stdio command's base name),
 * era and reason / category — never header values, env, args or unsanitized URLs — plus a non-enumerable
 * `registry` property so a subscriber can scope to one registry.
 *
 * @packageDocumentation
 */

import { tracingChannel, channel } from 'node:diagnostics_channel';
import { classifyError, type ErrorCategory } from './classify/index.js';
import {
  type EvictReason,
  type ProbeMethod,
  type ProbeResult,
  type ProtocolEra,
  type SessionInfo,
  type SessionKey,
  type TransportKind,
} from './types.js';

/**
 * The channel names the registry publishes on. `create`, `probe` and `close` are `TracingChannel` names
 * (subscribe with `diagnostics_channel.tracingChannel(name).subscribe({ start, end, asyncStart, asyncEnd, error })`);
 * `evict` is a plain channel (`diagnostics_channel.subscribe(name, fn)`).
 *
 * @example
 * ```ts
 * import diagnostics_channel from 'node:diagnostics_channel';
 * diagnostics_channel.tracingChannel<string, CreateDiagnosticsContext>(DIAGNOSTICS_CHANNELS.create).subscribe({
 *   start: (ctx) => console.log('creating', ctx.upstreamId),
 *   asyncEnd: (ctx) => console.log('created', ctx.upstreamId, ctx.durationMs),
 *   end: () => {}, asyncStart: () => {}, error: () => {},
 * });
 * ```
 */
export const DIAGNOSTICS_CHANNELS = Object.freeze({
  create: 'mcp-upstream-sessions:create',
  probe: 'mcp-upstream-sessions:probe',
  close: 'mcp-upstream-sessions:close',
  evict: 'mcp-upstream-sessions:evict',
} as const);

/** What every context and message describes: one session, without anything secret. */
export interface DiagnosticsSubject {
  /** The session's key. */
  readonly key: SessionKey;
  /** `key.upstreamId`, for subscribers that group by upstream. */
  readonly upstreamId: string;
  readonly transport: TransportKind;
  /** The upstream URL with userinfo and query values redacted (HTTP transports). */
  readonly url?: string;
  /** The stdio command's base name (stdio only; never its path, args or env). */
  readonly command?: string;
  /** The protocol era, once the factory reported it. */
  era?: ProtocolEra;
  /** The negotiated MCP protocol version, once known. */
  protocolVersion?: string;
  /**
   * The publishing registry (non-enumerable, so serializing a context never walks into it). Compare it with
   * `===` to scope a subscriber to one registry.
   */
  readonly registry: object;
}

/** Context of `mcp-upstream-sessions:create` (one per creation, shared by every caller that waited on it). */
export interface CreateDiagnosticsContext extends DiagnosticsSubject {
  /** Set on success: the new session (never the connection). */
  result?: SessionInfo;
  /** Set on failure: the library's error (`SessionCreateError`, `SessionCreateTimeoutError`, `SessionEvictedError`, …). */
  error?: unknown;
  /** Set on failure when the error has a category (`classifyError`). */
  category?: ErrorCategory;
  /** Set when a creation was abandoned by an eviction: its reason. */
  reason?: EvictReason;
  /** Set on settle: how long the creation took, in registry-clock milliseconds. */
  durationMs?: number;
}

/** What a probe decided (the `result` of a probe context). */
export interface ProbeDiagnosticsResult {
  readonly healthy: boolean;
  /** The chain step (or `server/discover`) that decided the outcome. */
  readonly method: ProbeMethod;
  /** When unhealthy: the category of the failure (the raw error is never published). */
  readonly category?: ErrorCategory;
}

/** Context of `mcp-upstream-sessions:probe` (one per health probe, shared by every caller that waited on it). */
export interface ProbeDiagnosticsContext extends DiagnosticsSubject {
  /** Set when the probe ran to an outcome (healthy or not). */
  result?: ProbeDiagnosticsResult;
  /** Set when the probe threw instead (a programming error that `acquire` surfaces); never an upstream error. */
  error?: unknown;
  /** Set on settle, in registry-clock milliseconds. */
  durationMs?: number;
}

/** How a close ended: `closed` (settled), `error` (the connection's close rejected) or `timeout` (abandoned). */
export type CloseOutcome = 'closed' | 'error' | 'timeout';

/**
 * Context of `mcp-upstream-sessions:close`: one per evicted session, from its eviction through its drain (open
 * leases) to the settled `connection.close()`. Never publishes `error`. (A late connection closed because its
 * creation was abandoned is not published: that creation's `error` already was.)
 */
export interface CloseDiagnosticsContext extends DiagnosticsSubject {
  /** Why the session was closed. */
  readonly reason?: EvictReason;
  /** Set on settle. */
  result?: { readonly outcome: CloseOutcome };
  /** Set when the outcome is `error`: the category of the close failure. */
  category?: ErrorCategory;
  /** Set on settle, in registry-clock milliseconds. */
  durationMs?: number;
}

/** Message of `mcp-upstream-sessions:evict` (published with `session:evicted`). */
export interface EvictDiagnosticsMessage extends DiagnosticsSubject {
  readonly reason: EvictReason;
  /** The session's age by the registry's clock. */
  readonly durationMs: number;
  /** The session as it was when it was evicted. */
  readonly info: SessionInfo;
}

/** The registry's clock, as the helpers use it. */
export interface TimeSource {
  now(): number;
}

/** What the registry hands the helpers: its entry (anything with a stable key and a fresh `info()`). */
export interface DiagnosticsSession {
  readonly key: SessionKey;
  info(): SessionInfo;
}

interface Started {
  readonly ctx: DiagnosticsSubject & { durationMs?: number };
  readonly startedAt: number;
}

const createChannel = tracingChannel<string, CreateDiagnosticsContext>(DIAGNOSTICS_CHANNELS.create);
const probeChannel = tracingChannel<string, ProbeDiagnosticsContext>(DIAGNOSTICS_CHANNELS.probe);
const closeChannel = tracingChannel<string, CloseDiagnosticsContext>(DIAGNOSTICS_CHANNELS.close);
const evictChannel = channel(DIAGNOSTICS_CHANNELS.evict);

/** Cleared only by {@link setPublishing} (benchmarks). */
let publishing = true;

/**
 * Benchmarks only (not exported by the package): with `false`, every helper returns before it reads
 * `hasSubscribers` — the registry behaves as a build without channels, in the same process and instance.
 *
 * @internal
 * @param enabled - Whether the helpers publish (the default).
 */
export function setPublishing(enabled: boolean): void {
  publishing = enabled;
}

/** Operations started while someone listened, by the registry entry they belong to (one each at a time). */
const creating = new WeakMap<DiagnosticsSession, Started>();
const probing = new WeakMap<DiagnosticsSession, Started>();
const closing = new WeakMap<DiagnosticsSession, Started>();

/** Builds a context from the session's current info; `registry` is defined non-enumerable. */
function subject(registry: object, session: DiagnosticsSession): DiagnosticsSubject {
  const info = session.info();
  const ctx: Record<string, unknown> = { key: session.key, upstreamId: session.key.upstreamId, transport: info.transport };
  if (info.command !== undefined) ctx.command = info.command;
  else if (info.url !== undefined) ctx.url = info.url;
  if (info.era !== undefined) ctx.era = info.era;
  if (info.protocolVersion !== undefined) ctx.protocolVersion = info.protocolVersion;
  Object.defineProperty(ctx, 'registry', { value: registry, enumerable: false });
  return ctx as unknown as DiagnosticsSubject;
}

/** Copies what a settled session now knows (era, protocol version) onto its context. */
function learn(ctx: DiagnosticsSubject, info: SessionInfo): void {
  if (info.era !== undefined) ctx.era = info.era;
  if (info.protocolVersion !== undefined) ctx.protocolVersion = info.protocolVersion;
}

/**
 * Publishes `start` of a creation, in the caller's async context. Call from the synchronous part of the
 * acquire that starts the creation (the first caller of a shared creation), then {@link publishCreateEnd}
 * when that part returns.
 *
 * @param registry - The publishing registry (becomes the context's non-enumerable `registry`).
 * @param session - The creating entry (`key` + `info()`); the settle helpers find the context by it.
 * @param clock - The registry's clock (read only when someone listens).
 * @example
 * ```ts
 * declare const entry: DiagnosticsSession; // the registry's entry for the session being created
 * declare function connect(entry: DiagnosticsSession): Promise<void>;
 * publishCreateStart(registry, entry, systemClock);
 * void connect(entry);
 * publishCreateEnd(entry);
 * ```
 */
export function publishCreateStart(registry: object, session: DiagnosticsSession, clock: TimeSource): void {
  if (!publishing || !createChannel.hasSubscribers) return;
  const ctx = subject(registry, session) as CreateDiagnosticsContext;
  creating.set(session, { ctx, startedAt: clock.now() });
  createChannel.start.publish(ctx);
}

/**
 * Publishes `end` of a creation (its synchronous part returned). No-op unless its start was published.
 *
 * @param session - The entry given to {@link publishCreateStart}.
 */
export function publishCreateEnd(session: DiagnosticsSession): void {
  if (!publishing || !createChannel.hasSubscribers) return;
  const started = creating.get(session);
  if (started !== undefined) createChannel.end.publish(started.ctx);
}

/**
 * Publishes the success of a creation: `asyncStart` and `asyncEnd` with `result` = the new `SessionInfo`.
 *
 * @param session - The entry given to {@link publishCreateStart}, now ready (its `info()` becomes `result`).
 * @param clock - The registry's clock (read only when someone listens).
 */
export function publishCreateResult(session: DiagnosticsSession, clock: TimeSource): void {
  if (!publishing || !createChannel.hasSubscribers) return;
  const started = creating.get(session);
  if (started === undefined) return;
  creating.delete(session);
  const ctx = started.ctx as CreateDiagnosticsContext;
  const info = session.info();
  ctx.result = info;
  learn(ctx, info);
  ctx.durationMs = clock.now() - started.startedAt;
  createChannel.asyncStart.publish(ctx);
  createChannel.asyncEnd.publish(ctx);
}

/**
 * Publishes the failure of a creation: `error` (with `error` = the library's error the waiters get),
 * `asyncStart`, `asyncEnd`. Also for creations abandoned by a timeout, an eviction or `closeAll`.
 *
 * @param session - The entry given to {@link publishCreateStart}.
 * @param error - The library error the waiters are rejected with.
 * @param category - The failure's category, when it has one.
 * @param clock - The registry's clock (read only when someone listens).
 */
export function publishCreateError(
  session: DiagnosticsSession,
  error: unknown,
  category: ErrorCategory | undefined,
  clock: TimeSource,
): void {
  if (!publishing || !createChannel.hasSubscribers) return;
  const started = creating.get(session);
  if (started === undefined) return;
  creating.delete(session);
  const ctx = started.ctx as CreateDiagnosticsContext;
  ctx.error = error;
  if (category !== undefined) ctx.category = category;
  const reason = evictReasonOf(error);
  if (reason !== undefined) ctx.reason = reason;
  ctx.durationMs = clock.now() - started.startedAt;
  createChannel.error.publish(ctx);
  createChannel.asyncStart.publish(ctx);
  createChannel.asyncEnd.publish(ctx);
}

/**
 * Publishes `start` of a health probe, in the async context of the acquire that triggered it; then call
 * {@link publishProbeEnd} when the synchronous part returns.
 *
 * @param registry - The publishing registry.
 * @param session - The probing entry.
 * @param clock - The registry's clock (read only when someone listens).
 */
export function publishProbeStart(registry: object, session: DiagnosticsSession, clock: TimeSource): void {
  if (!publishing || !probeChannel.hasSubscribers) return;
  const ctx = subject(registry, session) as ProbeDiagnosticsContext;
  probing.set(session, { ctx, startedAt: clock.now() });
  probeChannel.start.publish(ctx);
}

/**
 * Publishes `end` of a probe (its synchronous part returned).
 *
 * @param session - The entry given to {@link publishProbeStart}.
 */
export function publishProbeEnd(session: DiagnosticsSession): void {
  if (!publishing || !probeChannel.hasSubscribers) return;
  const started = probing.get(session);
  if (started !== undefined) probeChannel.end.publish(started.ctx);
}

/**
 * Publishes the outcome of a probe that ran (healthy or unhealthy): `asyncStart`, `asyncEnd` with `result`.
 * An unhealthy probe is an outcome, not an `error` publication.
 *
 * @param session - The entry given to {@link publishProbeStart}.
 * @param result - What the probe decided; an unhealthy one's error is published as its `category` only.
 * @param clock - The registry's clock (read only when someone listens).
 */
export function publishProbeResult(session: DiagnosticsSession, result: ProbeResult, clock: TimeSource): void {
  if (!publishing || !probeChannel.hasSubscribers) return;
  const started = probing.get(session);
  if (started === undefined) return;
  probing.delete(session);
  const ctx = started.ctx as ProbeDiagnosticsContext;
  ctx.result = result.healthy
    ? { healthy: true, method: result.method }
    : { healthy: false, method: result.method, category: classifyError(result.error) };
  ctx.durationMs = clock.now() - started.startedAt;
  probeChannel.asyncStart.publish(ctx);
  probeChannel.asyncEnd.publish(ctx);
}

/**
 * Publishes a probe that threw (a programming error `acquire` surfaces) or was cut short by an eviction:
 * `error`, `asyncStart`, `asyncEnd`.
 *
 * @param session - The entry given to {@link publishProbeStart}.
 * @param error - The error (a library error for evictions; the thrown error for programming errors).
 * @param clock - The registry's clock (read only when someone listens).
 */
export function publishProbeError(session: DiagnosticsSession, error: unknown, clock: TimeSource): void {
  if (!publishing || !probeChannel.hasSubscribers) return;
  const started = probing.get(session);
  if (started === undefined) return;
  probing.delete(session);
  const ctx = started.ctx as ProbeDiagnosticsContext;
  ctx.error = error;
  ctx.durationMs = clock.now() - started.startedAt;
  probeChannel.error.publish(ctx);
  probeChannel.asyncStart.publish(ctx);
  probeChannel.asyncEnd.publish(ctx);
}

/**
 * Publishes `start` of an evicted session's close (drain, then `connection.close()`); then
 * {@link publishCloseEnd} once the close was started.
 *
 * @param registry - The publishing registry.
 * @param session - The entry being closed.
 * @param reason - Why the session was evicted.
 * @param clock - The registry's clock (read only when someone listens).
 * @returns Whether a start was published (so the caller need only wait for the outcome then).
 */
export function publishCloseStart(
  registry: object,
  session: DiagnosticsSession,
  reason: EvictReason | undefined,
  clock: TimeSource,
): boolean {
  if (!publishing || !closeChannel.hasSubscribers) return false;
  const ctx = subject(registry, session) as CloseDiagnosticsContext & { reason?: EvictReason };
  if (reason !== undefined) ctx.reason = reason;
  closing.set(session, { ctx, startedAt: clock.now() });
  closeChannel.start.publish(ctx);
  return true;
}

/**
 * Publishes `end` of a close (the synchronous `close()` call returned).
 *
 * @param session - The entry given to {@link publishCloseStart}.
 */
export function publishCloseEnd(session: DiagnosticsSession): void {
  if (!publishing || !closeChannel.hasSubscribers) return;
  const started = closing.get(session);
  if (started !== undefined) closeChannel.end.publish(started.ctx);
}

/**
 * Publishes how a close ended: `asyncStart`, `asyncEnd` with `result.outcome` (closes never reject to the
 * evicting caller, so `error` is never published; a failure is `outcome: 'error'` with its `category`).
 *
 * @param session - The entry given to {@link publishCloseStart}.
 * @param outcome - `closed`, `error` or `timeout`.
 * @param category - For `error`: the failure's category.
 * @param clock - The registry's clock (read only when someone listens).
 */
export function publishCloseResult(
  session: DiagnosticsSession,
  outcome: CloseOutcome,
  category: ErrorCategory | undefined,
  clock: TimeSource,
): void {
  if (!publishing || !closeChannel.hasSubscribers) return;
  const started = closing.get(session);
  if (started === undefined) return;
  closing.delete(session);
  const ctx = started.ctx as CloseDiagnosticsContext;
  ctx.result = { outcome };
  if (category !== undefined) ctx.category = category;
  ctx.durationMs = clock.now() - started.startedAt;
  closeChannel.asyncStart.publish(ctx);
  closeChannel.asyncEnd.publish(ctx);
}

/**
 * Publishes an eviction on `mcp-upstream-sessions:evict` (call where `session:evicted` is emitted).
 *
 * @param registry - The publishing registry.
 * @param session - The evicted entry.
 * @param reason - Why it was evicted.
 * @param durationMs - The session's age by the registry's clock.
 */
export function publishEvict(registry: object, session: DiagnosticsSession, reason: EvictReason, durationMs: number): void {
  if (!publishing || !evictChannel.hasSubscribers) return;
  const message = subject(registry, session) as DiagnosticsSubject & { reason?: EvictReason; durationMs?: number; info?: SessionInfo };
  message.reason = reason;
  message.durationMs = durationMs;
  message.info = session.info();
  evictChannel.publish(message);
}

/** The eviction reason carried by a `SessionEvictedError` (duck-typed: no import of the error classes). */
function evictReasonOf(error: unknown): EvictReason | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, reason } = error as { code?: unknown; reason?: unknown };
  return code === 'EVICTED' && typeof reason === 'string' ? (reason as EvictReason) : undefined;
}
