/**
 * Errors shaped like the ones real upstreams and SDKs produce, for scripting fakes: what the library's error
 * classification (`isTransportError`, `classifyError`, `isSuspectError`) recognises, without loading an SDK.
 *
 * @packageDocumentation
 */

/** The brand the stdio spawner puts on its failure errors (what `classifyError` reads). */
const STDIO_FAILURE = Symbol.for('mcp-upstream-sessions.stdioFailure');

/**
 * An error shaped like the MCP SDK's `McpError` (`name` `'McpError'`, numeric `code`, message
 * `MCP error <code>: <message>`), without importing the SDK. Code that checks `error.code === -32601` or
 * `error.name === 'McpError'` treats it exactly like the real thing.
 *
 * @example
 * ```ts
 * client.script.ping = new FakeMcpError(-32603, 'Internal error');
 * ```
 */
export class FakeMcpError extends Error {
  /** JSON-RPC error code. */
  readonly code: number;
  /** Optional JSON-RPC error data. */
  readonly data: unknown;

  /**
   * @param code - JSON-RPC error code, e.g. -32601.
   * @param message - Message without the `MCP error <code>: ` prefix, which is added like the SDK does.
   * @param data - Optional JSON-RPC error data.
   */
  constructor(code: number, message: string, data?: unknown) {
    super(`MCP error ${code}: ${message}`);
    this.name = 'McpError';
    this.code = code;
    this.data = data;
  }
}

/**
 * The error an SDK client rejects with when the server does not implement a method: `McpError` -32601
 * `MCP error -32601: Method not found`.
 *
 * @example
 * ```ts
 * await expect(client.ping()).rejects.toMatchObject(createMethodNotFoundError());
 * ```
 */
export function createMethodNotFoundError(): FakeMcpError {
  return new FakeMcpError(-32601, 'Method not found');
}

/**
 * The error an SDK client rejects pending and later requests with once its transport closed: `McpError`
 * -32000 `MCP error -32000: Connection closed`.
 *
 * @example
 * ```ts
 * connection.client.script.callTool = createConnectionClosedError();
 * ```
 */
export function createConnectionClosedError(): FakeMcpError {
  return new FakeMcpError(-32000, 'Connection closed');
}

/**
 * An error shaped like the SDK's `StreamableHTTPError` for HTTP 404 "Session not found": what a streamable
 * HTTP client gets when the upstream restarted or expired the session. The SDK keeps the stale session id
 * and never fires `onclose`, so only the caller can notice.
 *
 * @example
 * ```ts
 * connection.client.script.callTool = 'session-not-found';
 * ```
 */
export function createSessionNotFoundError(): Error & { code: number } {
  const body = JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });
  return Object.assign(new Error(`Streamable HTTP error: Error POSTing to endpoint: ${body}`), { code: 404 });
}

/**
 * The error `'fail'` creations reject with: shaped like Node's `connect ECONNREFUSED` system error
 * (`code: 'ECONNREFUSED'`, `syscall: 'connect'`), so error classification sees a refused connection.
 *
 * @param upstreamId - Named in the message.
 * @example
 * ```ts
 * factory.nextCreate('fail', createConnectionRefusedError('search'));
 * ```
 */
export function createConnectionRefusedError(upstreamId = 'upstream'): Error & { code: string; syscall: string } {
  return Object.assign(new Error(`connect ECONNREFUSED (fake upstream "${upstreamId}")`), {
    code: 'ECONNREFUSED',
    syscall: 'connect',
  });
}

/** An error like the stdio spawner's: `spawn_failed` or `process_exited`, with exit details on exits. */
export type FakeStdioFailure = Error & {
  readonly exitCode?: number | null;
  readonly signalCode?: string | null;
};

/**
 * An error shaped like the stdio spawner's "the process exited" failure (what `events.closed` gets when a
 * stdio upstream exits unexpectedly, and what a creation rejects with when the process exits during
 * `initialize`): `classifyError` says `process_exited`, and it is a transport error.
 *
 * @param command - The command's base name, named in the message.
 * @param exitCode - The exit code (`null` when a signal ended it). @default 1
 * @param signalCode - The signal that ended it, e.g. `'SIGKILL'`. @default null
 * @example
 * ```ts
 * factory.created[0]!.exit(createProcessExitedError('my-server', 1));
 * factory.nextCreate(createProcessExitedError('my-server', 2));
 * ```
 */
export function createProcessExitedError(command = 'server', exitCode: number | null = 1, signalCode: string | null = null): FakeStdioFailure {
  const how = signalCode === null ? `with code ${String(exitCode)}` : `on signal ${signalCode}`;
  return Object.assign(new Error(`stdio upstream ${command} exited ${how}`), {
    [STDIO_FAILURE]: 'process_exited',
    exitCode,
    signalCode,
  });
}

/**
 * An error shaped like the stdio spawner's "could not start the process" failure (`ENOENT` / `EACCES`):
 * `classifyError` says `spawn_failed`.
 *
 * @param command - The command's base name, named in the message.
 * @param code - The system error code. @default 'ENOENT'
 * @example
 * ```ts
 * factory.nextCreate(createSpawnFailedError('missing-server'));
 * ```
 */
export function createSpawnFailedError(command = 'server', code = 'ENOENT'): FakeStdioFailure {
  return Object.assign(new Error(`could not spawn stdio upstream ${command}: ${code}`), {
    [STDIO_FAILURE]: 'spawn_failed',
    code,
  });
}
