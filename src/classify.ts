// STUB: to be implemented (signatures are the contract).

/** What kind of failure an error represents. */
export type ErrorCategory =
  | 'connection_refused'
  | 'connection_reset'
  | 'timeout'
  | 'dns'
  | 'tls'
  | 'auth_unauthorized'
  | 'auth_forbidden'
  | 'not_found'
  | 'upstream_server_error'
  | 'http_error'
  | 'mcp_protocol_error'
  | 'network'
  | 'unknown';

export function isTransportError(error: unknown): boolean {
  void error;
  return false;
}
export function classifyError(error: unknown): ErrorCategory {
  void error;
  return 'unknown';
}
export function isMethodNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === -32601;
}
export function isProgrammingError(error: unknown): boolean {
  return error instanceof TypeError || error instanceof ReferenceError || error instanceof RangeError || error instanceof SyntaxError;
}
