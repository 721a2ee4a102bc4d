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
export { isTransportError, isSuspectError, classifyError, ERROR_CATEGORIES, type ErrorCategory } from './classify/index.js';
export { sanitizeUrl, redactText, requestSecrets, type SecretSource } from './sanitize.js';
export { downstreamSessionIdFromHeaders, type HeaderSource } from './downstream.js';
export {
  relayProgress,
  toDownstreamError,
  type DownstreamRpcError,
  type ProgressNotification,
  type ProgressRelayTarget,
  type RelayedProgress,
} from './relay.js';
export { InMemoryEraStore, type InMemoryEraStoreOptions } from './eras/in-memory.js';
export { type EraStore, type EraVerdict } from './eras/store.js';
export { StdioProcessError, STDIO_FAILURE, type StdioExit, type StdioFailureKind } from './mcp/stdio/failure.js';
export { type StdioStderrHandler, type StdioFactoryOptions } from './mcp/stdio/index.js';
export {
  DIAGNOSTICS_CHANNELS,
  type DiagnosticsSubject,
  type CreateDiagnosticsContext,
  type ProbeDiagnosticsContext,
  type ProbeDiagnosticsResult,
  type CloseDiagnosticsContext,
  type CloseOutcome,
  type EvictDiagnosticsMessage,
} from './diagnostics.js';
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
  ProbeTimeoutError,
  StoreTimeoutError,
  CloseGraceEndedError,
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
  type SessionCreateRequestBase,
  type HttpSessionCreateRequest,
  type StdioSessionCreateRequest,
  type ConnectionProbeOptions,
  type ConnectionEvents,
  type UpstreamConnection,
  type UpstreamNotification,
} from './factory.js';
export { type UpstreamClient, type UpstreamRequestOptions } from './client.js';
export {
  type SessionKey,
  type SessionRequest,
  type SessionRequestBase,
  type HttpSessionRequest,
  type StdioSessionRequest,
  type TransportKind,
  type SessionInfo,
  type SessionState,
  type ProtocolEra,
  EVICT_REASONS,
} from './types.js';
export { type RegistryOptions, type CircuitBreakerOptions } from './options.js';
export { type RegistrySnapshot, type RegistryCounters, type UpstreamSnapshot } from './snapshot.js';
export { type CircuitState } from './circuit.js';
export { type Logger, type LogFields } from './logger.js';
