import { type ErrorCategory } from './classify/index.js';
import { type UpstreamNotification } from './factory.js';
import { type EvictReason, type ListChangedKind, type ProbeMethod, type SessionInfo, type SessionKey } from './types.js';

export { EVICT_REASONS, type EvictReason, type ListChangedKind } from './types.js';

/** Payload of `session:created`. */
export interface SessionCreatedEvent {
  key: SessionKey;
  info: SessionInfo;
  /** How long the factory took, in clock milliseconds. */
  durationMs: number;
}
/** Payload of `session:reused`. */
export interface SessionReusedEvent {
  key: SessionKey;
  info: SessionInfo;
}
/** Payload of `session:evicted`. */
export interface SessionEvictedEvent {
  key: SessionKey;
  reason: EvictReason;
  info: SessionInfo;
  /** The session's age when it was evicted, in registry clock milliseconds (from `createdAt`). */
  durationMs: number;
}
/** Payload of `session:create-failed`. */
export interface SessionCreateFailedEvent {
  key: SessionKey;
  category: ErrorCategory;
  error: unknown;
}
/** Payload of `probe`. */
export interface ProbeEvent {
  key: SessionKey;
  healthy: boolean;
  /** The chain step that decided the outcome. */
  method: ProbeMethod;
  durationMs: number;
  error?: unknown;
}
/** Payload of `close:timeout`. */
export interface CloseTimeoutEvent {
  key: SessionKey;
  /** The close was abandoned after twice this many milliseconds. */
  closeTimeoutMs: number;
}
/** Payload of `notification`. */
export interface NotificationEvent {
  key: SessionKey;
  notification: UpstreamNotification;
}
/** Payload of `upstream:list-changed` (debounced per upstream by `notificationDebounceMs`). */
export interface UpstreamListChangedEvent {
  upstreamId: string;
  kinds: ListChangedKind[];
}
/** Payload of `circuit:open`. */
export interface CircuitOpenEvent {
  upstreamId: string;
  /** Consecutive creation failures that opened the circuit. */
  failures: number;
  retryAfterMs: number;
}
/** Payload of `circuit:close`. */
export interface CircuitCloseEvent {
  upstreamId: string;
}
/** Payload of `affinity:error`. */
export interface AffinityErrorEvent {
  /** The store operation that failed (`claim`, `refresh`, `release`, `heartbeat`, …). */
  operation: string;
  downstreamSessionId?: string;
  error: unknown;
}

/**
 * The registry's typed events (eventemitter3). Listener errors are caught and logged; they never change
 * what the registry does. Payloads never contain header values; URLs in them are sanitized.
 *
 * @example
 * ```ts
 * registry.on('session:evicted', ({ key, reason }) => metrics.increment('evicted', { reason, upstream: key.upstreamId }));
 * ```
 */
export interface RegistryEvents {
  'session:created': (event: SessionCreatedEvent) => void;
  'session:reused': (event: SessionReusedEvent) => void;
  'session:evicted': (event: SessionEvictedEvent) => void;
  'session:create-failed': (event: SessionCreateFailedEvent) => void;
  probe: (event: ProbeEvent) => void;
  'close:timeout': (event: CloseTimeoutEvent) => void;
  notification: (event: NotificationEvent) => void;
  'upstream:list-changed': (event: UpstreamListChangedEvent) => void;
  'circuit:open': (event: CircuitOpenEvent) => void;
  'circuit:close': (event: CircuitCloseEvent) => void;
  'affinity:error': (event: AffinityErrorEvent) => void;
}
