// The SDK-free relay helpers of `mcp-upstream-sessions`: progress re-sent under the downstream token, and
// upstream errors mapped to what the downstream client would have got from the upstream directly.
import { ProtocolError } from '@modelcontextprotocol/client';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { CircuitOpenError, SessionCreateError } from '../../src/index.js';
import { relayProgress, toDownstreamError, type ProgressNotification } from '../../src/relay.js';

describe('relayProgress', () => {
  it('asks for no upstream progress when the downstream request has no progress token', () => {
    expect(relayProgress({ sendNotification: () => Promise.resolve() })).toEqual({});
    expect(relayProgress({ _meta: {}, sendNotification: () => Promise.resolve() })).toEqual({});
  });

  it('re-sends each update under the downstream token, with only the fields the upstream sent', () => {
    const sent: ProgressNotification[] = [];
    const { onprogress } = relayProgress({
      _meta: { progressToken: 'downstream-7' },
      sendNotification: (notification) => (sent.push(notification), Promise.resolve()),
    });
    onprogress?.({ progress: 1 });
    onprogress?.({ progress: 2, total: 4, message: 'half' });
    expect(sent).toEqual([
      { method: 'notifications/progress', params: { progressToken: 'downstream-7', progress: 1 } },
      { method: 'notifications/progress', params: { progressToken: 'downstream-7', progress: 2, total: 4, message: 'half' } },
    ]);
  });

  it('ignores a downstream that can no longer be told (progress is advisory)', async () => {
    const { onprogress } = relayProgress({ _meta: { progressToken: 0 }, sendNotification: () => Promise.reject(new Error('gone')) });
    expect(() => onprogress?.({ progress: 1 })).not.toThrow();
    await Promise.resolve(); // no unhandled rejection follows
  });
});

describe('toDownstreamError', () => {
  it('keeps an upstream JSON-RPC error’s code and data, without doubling the SDK v1 message prefix', () => {
    const fromV1 = toDownstreamError(new McpError(ErrorCode.InvalidParams, 'Prompt not-there not found', { name: 'not-there' }));
    expect({ code: fromV1.code, message: fromV1.message, data: fromV1.data }).toEqual({
      code: -32602,
      message: 'Prompt not-there not found',
      data: { name: 'not-there' },
    });
    const fromV2 = toDownstreamError(new ProtocolError(-32002, 'Resource not found', { uri: 'demo://x' }));
    expect({ code: fromV2.code, message: fromV2.message, data: fromV2.data }).toEqual({
      code: -32002,
      message: 'Resource not found',
      data: { uri: 'demo://x' },
    });
  });

  it('names only the code of a library error, with its category and retry hint as data', () => {
    const open = toDownstreamError(new CircuitOpenError('billing', 1_000));
    expect(open.code).toBe(-32603);
    expect(open.message).toBe('Upstream unavailable (CIRCUIT_OPEN)');
    expect(open.data).toEqual({ code: 'CIRCUIT_OPEN', retryAfterMs: 1_000 });
    const failed = toDownstreamError(
      new SessionCreateError('billing', 'connection_refused', new Error('connect ECONNREFUSED http://u:secret@10.0.0.7/mcp')),
    );
    expect(failed.message).toBe('Upstream unavailable (CREATE_FAILED: connection_refused)');
    expect(JSON.stringify({ message: failed.message, data: failed.data })).not.toContain('secret');
  });

  it('turns transport and HTTP failures into an internal error naming their category, never their message', () => {
    const refused = toDownstreamError(
      Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) }),
    );
    expect([refused.code, refused.message]).toEqual([-32603, 'Upstream connection failed (connection_refused)']);
    const gone = toDownstreamError(new StreamableHTTPError(404, 'Session not found'));
    expect([gone.code, gone.message]).toEqual([-32603, 'Upstream connection failed (not_found)']);
    const broken = toDownstreamError(new StreamableHTTPError(502, 'Bad gateway: token=abc123'));
    expect([broken.code, broken.message]).toEqual([-32603, 'Upstream request failed (upstream_server_error)']);
  });

  it('sends nothing of an unknown error’s message', () => {
    const error = toDownstreamError(new Error('password=hunter2 in /etc/app.conf'));
    expect([error.code, error.message, error.data]).toEqual([-32603, 'Internal error', undefined]);
  });
});
