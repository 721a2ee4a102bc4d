import { ProtocolError, SdkError, SdkHttpError } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import {
  ERROR_CATEGORIES,
  classifyError,
  isMethodNotFound,
  isSuspectError,
  isTimeoutError,
  isTransportError,
} from '../../src/classify/index.js';
import { RECOGNIZERS } from '../../src/classify/recognizers.js';
import { SessionCreateError } from '../../src/errors.js';

// SPEC §4.4 and §8 "Errors": SDK v2 errors by brand, suspect errors, stdio failures, the most specific cause.

const STDIO_FAILURE = Symbol.for('mcp-upstream-sessions.stdioFailure');
const refused = (): Error => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
const fetchFailed = (cause?: unknown): TypeError => new TypeError('fetch failed', cause === undefined ? {} : { cause });

describe('SDK v2 errors (SdkError, SdkHttpError, ProtocolError)', () => {
  it('CONNECTION_CLOSED is a transport error', () => {
    const error = new SdkError('CONNECTION_CLOSED' as never, 'Connection closed');
    expect(isTransportError(error)).toBe(true);
    expect(classifyError(error)).toBe('network');
    expect(isSuspectError(error)).toBe(false);
  });

  it('REQUEST_TIMEOUT is a timeout that makes the session suspect, not a transport error', () => {
    const error = new SdkError('REQUEST_TIMEOUT' as never, 'Request timed out', { timeout: 100 });
    expect(classifyError(error)).toBe('timeout');
    expect(isTimeoutError(error)).toBe(true);
    expect(isSuspectError(error)).toBe(true);
    expect(isTransportError(error)).toBe(false);
  });

  it('an SdkHttpError is classified by its status; 404 is a transport error on either era', () => {
    const http = (status: number, message = 'Error POSTing to endpoint'): SdkHttpError =>
      new SdkHttpError('CLIENT_HTTP_NOT_IMPLEMENTED' as never, message, { status, statusText: 'x' });
    expect([classifyError(http(404)), isTransportError(http(404))]).toEqual(['not_found', true]);
    expect([classifyError(http(401)), isTransportError(http(401)), isSuspectError(http(401))]).toEqual([
      'auth_unauthorized',
      false,
      false,
    ]);
    expect([classifyError(http(403)), isSuspectError(http(403))]).toEqual(['auth_forbidden', false]);
    expect([classifyError(http(503)), isTransportError(http(503)), isSuspectError(http(503))]).toEqual([
      'upstream_server_error',
      false,
      true,
    ]);
    expect([classifyError(http(429)), isSuspectError(http(429))]).toEqual(['http_error', true]);
    expect(isTransportError(http(400, 'Error POSTing to endpoint: Invalid or missing session ID'))).toBe(true);
    expect(isTransportError(http(400, 'Error POSTing to endpoint: invalid params'))).toBe(false);
  });

  it('ProtocolError -32022 (unsupported protocol version) and -32020 (header mismatch) are transport errors', () => {
    expect(isTransportError(new ProtocolError(-32022, 'Unsupported protocol version'))).toBe(true);
    expect(isTransportError(new ProtocolError(-32020 as never, 'Header mismatch'))).toBe(true);
    expect(isTransportError(new ProtocolError(-32602, 'Invalid params'))).toBe(false);
    expect(classifyError(new ProtocolError(-32602, 'Invalid params'))).toBe('mcp_protocol_error');
    expect(isMethodNotFound(new ProtocolError(-32601, 'Method not found'))).toBe(true);
  });

  it('ERA_NEGOTIATION_FAILED is era_negotiation, unless a more specific cause says more', () => {
    const bare = new SdkError('ERA_NEGOTIATION_FAILED' as never, 'Version negotiation failed');
    expect(classifyError(bare)).toBe('era_negotiation');
    expect(isTransportError(bare)).toBe(false);
    const onRefused = new SdkError('ERA_NEGOTIATION_FAILED' as never, 'Version negotiation failed', undefined, {
      cause: fetchFailed(refused()),
    });
    expect(classifyError(onRefused)).toBe('connection_refused');
    const on500 = new SdkError('ERA_NEGOTIATION_FAILED' as never, 'Version negotiation failed', undefined, {
      cause: new SdkHttpError('CLIENT_HTTP_NOT_IMPLEMENTED' as never, 'x', { status: 500 }),
    });
    expect(classifyError(on500)).toBe('upstream_server_error');
  });

  it('METHOD_NOT_SUPPORTED_BY_PROTOCOL_VERSION counts as method-not-found', () => {
    expect(isMethodNotFound(new SdkError('METHOD_NOT_SUPPORTED_BY_PROTOCOL_VERSION' as never, 'ping is not in this era'))).toBe(
      true,
    );
    expect(isMethodNotFound(Object.assign(new Error('x'), { code: 'METHOD_NOT_SUPPORTED_BY_PROTOCOL_VERSION' }))).toBe(false);
  });

  it('is recognised by the brand another bundled copy stamps, without instanceof', () => {
    const lookalike = Object.assign(new Error('Connection closed'), { code: 'CONNECTION_CLOSED' });
    Object.defineProperty(lookalike, Symbol.for('mcp.sdk.errorBrands'), { value: new Set(['mcp.SdkError']) });
    expect(isTransportError(lookalike)).toBe(true);
    // Without a brand or the class name, a string code alone is not an SDK error.
    expect(isTransportError(Object.assign(new Error('x'), { code: 'CONNECTION_CLOSED' }))).toBe(false);
  });
});

describe('suspect errors', () => {
  it('are request timeouts, 5xx and 4xx other than 401/403', () => {
    expect(isSuspectError(Object.assign(new Error('MCP error -32001: Request timed out'), { name: 'McpError', code: -32001 }))).toBe(
      true,
    );
    expect(isSuspectError(Object.assign(new Error('x'), { status: 502 }))).toBe(true);
    expect(isSuspectError(Object.assign(new Error('x'), { status: 409 }))).toBe(true);
    expect(isSuspectError(Object.assign(new Error('x'), { status: 401 }))).toBe(false);
    expect(isSuspectError(Object.assign(new Error('x'), { statusCode: 403 }))).toBe(false);
    expect(isSuspectError(new DOMException('The operation timed out', 'TimeoutError'))).toBe(true);
  });

  it('are not caller aborts, tool errors, protocol errors or non-errors', () => {
    expect(isSuspectError(new DOMException('aborted', 'AbortError'))).toBe(false);
    expect(isSuspectError(new Error('tool failed'))).toBe(false);
    expect(isSuspectError(Object.assign(new Error('MCP error -32602: bad'), { name: 'McpError', code: -32602 }))).toBe(false);
    expect(isSuspectError('timeout')).toBe(false);
    expect(isSuspectError(undefined)).toBe(false);
  });

  it('are found anywhere in the cause chain', () => {
    expect(isSuspectError(new Error('wrapped', { cause: Object.assign(new Error('x'), { status: 500 }) }))).toBe(true);
  });
});

describe('stdio failures', () => {
  const failure = (kind: string, message: string): Error => Object.assign(new Error(message), { [STDIO_FAILURE]: kind });

  it('spawn_failed and process_exited are transport errors of their own category', () => {
    expect(classifyError(failure('spawn_failed', 'spawn my-server ENOENT'))).toBe('spawn_failed');
    expect(classifyError(failure('process_exited', 'my-server exited with code 1'))).toBe('process_exited');
    expect(isTransportError(failure('process_exited', 'x'))).toBe(true);
    expect(isTransportError(failure('spawn_failed', 'x'))).toBe(true);
  });

  it('win over what the SDK wrapped them in', () => {
    const closed = Object.assign(new Error('MCP error -32000: Connection closed', { cause: failure('process_exited', 'x') }), {
      name: 'McpError',
      code: -32000,
    });
    expect(classifyError(closed)).toBe('process_exited');
  });

  it('an unknown brand value is not a stdio failure', () => {
    expect(classifyError(failure('exploded', 'x'))).toBe('unknown');
  });

  it('a SessionCreateError keeps the category it was given', () => {
    expect(classifyError(new SessionCreateError('u', 'process_exited', failure('process_exited', 'x')))).toBe('process_exited');
  });
});

describe('the recognizers', () => {
  it('run in a fixed order: library, SDK v2, SDK v1, Node, heuristics', () => {
    expect(RECOGNIZERS.map((r) => r.name)).toEqual([
      'recognizeLibrary',
      'recognizeSdkV2',
      'recognizeSdkV1',
      'recognizeNode',
      'recognizeHeuristics',
    ]);
  });

  it('ERROR_CATEGORIES lists every category once', () => {
    expect(new Set(ERROR_CATEGORIES).size).toBe(ERROR_CATEGORIES.length);
    expect(ERROR_CATEGORIES).toContain('era_negotiation');
  });

  it('session-gone wordings of HTTP 400s are transport errors', () => {
    for (const message of [
      'Invalid or missing session ID',
      'Bad Request: No valid session ID provided',
      'Bad Request: Mcp-Session-Id header is required',
      'Unknown session',
      'session id expired',
      'Bad Request: Server not initialized',
      'Missing session ID',
    ]) {
      const error = Object.assign(new Error(`Streamable HTTP error: Error POSTing to endpoint: ${message}`), { code: 400 });
      expect(isTransportError(error), message).toBe(true);
    }
    for (const message of ['Bad Request: invalid params', 'session limit reached', 'invalid session configuration']) {
      const error = Object.assign(new Error(`Streamable HTTP error: Error POSTing to endpoint: ${message}`), { code: 400 });
      expect(isTransportError(error), message).toBe(false);
    }
  });
});
