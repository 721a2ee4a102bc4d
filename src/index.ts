// Public API of `mcp-upstream-sessions`. Explicit named exports only: test/exports.test.ts snapshots this list.
export { UpstreamSessionRegistry } from './registry.js';
export { type SessionLease } from './lease.js';
export { runProbeChain, type ProbeMethod, type ProbeResult, type ProbeChainOptions } from './probe.js';
export { createMcpSessionFactory, type McpSessionFactoryOptions } from './mcp/v1/factory.js';
export {
  type McpServerRequest,
  type McpServerRequestExtra,
  type McpServerRequestHandler,
  type McpServerRequestMethod,
} from './mcp/server-request.js';
export { InMemoryAffinityStore, type InMemoryAffinityStoreOptions } from './affinity/in-memory.js';
export { type AffinityStore, type RouteDecision } from './affinity/store.js';
export { systemClock, type Clock } from './clock.js';
export { isTransportError, classifyError, type ErrorCategory } from './classify/index.js';
export { sanitizeUrl } from './sanitize.js';
export { downstreamSessionIdFromHeaders, type HeaderSource } from './downstream.js';
export {
  UpstreamSessionError,
  InvalidRequestError,
  InvalidOptionsError,
  RegistryClosedError,
  SessionCreateError,
  SessionCreateTimeoutError,
  SessionEvictedError,
  CapacityError,
  CircuitOpenError,
  NotOwnerError,
  type UpstreamSessionErrorCode,
} from './errors.js';
export {
  type EvictReason,
  type ListChangedKind,
  type RegistryEvents,
  type SessionCreatedEvent,
  type SessionReusedEvent,
  type SessionEvictedEvent,
  type SessionCreateFailedEvent,
  type ProbeEvent,
  type CloseTimeoutEvent,
  type NotificationEvent,
  type UpstreamListChangedEvent,
  type CircuitOpenEvent,
  type CircuitCloseEvent,
  type AffinityErrorEvent,
} from './events.js';
export {
  type SessionFactory,
  type SessionCreateRequest,
  type ConnectionEvents,
  type UpstreamConnection,
  type UpstreamNotification,
} from './factory.js';
export { type UpstreamClient, type UpstreamRequestOptions } from './client.js';
export { type SessionKey, type SessionRequest, type TransportKind } from './request.js';
export { type SessionInfo, type SessionState } from './session-info.js';
export { type RegistryOptions, type CircuitBreakerOptions } from './options.js';
export { type RegistrySnapshot, type RegistryCounters, type UpstreamSnapshot } from './snapshot.js';
export { type CircuitState } from './circuit.js';
export { type Logger, type LogFields } from './logger.js';
