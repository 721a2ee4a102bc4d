import { type ErrorCategory } from './classify/index.js';
import { type UpstreamNotification } from './factory.js';
import { type ProbeMethod } from './probe.js';
import { type SessionKey } from './request.js';
import { type SessionInfo } from './session-info.js';

/** Why a session left the registry. */
export type EvictReason =
  | 'evict'
  | 'session'
  | 'upstream'
  | 'close-all'
  | 'probe-failed'
  | 'transport-closed'
  | 'transport-error'
  | 'idle'
  | 'max-age'
  | 'capacity'
  | 'fingerprint-changed';

/** Every {@link EvictReason}, in a stable order. */
export const EVICT_REASONS: readonly EvictReason[] = Object.freeze([
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

/** The list kinds an upstream can announce as changed. */
export type ListChangedKind = 'tools' | 'prompts' | 'resources';

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
 * registry.on('session:evicted', ({ key, reason }) => metrics.inc('evicted', { reason, upstream: key.upstreamId }));
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
