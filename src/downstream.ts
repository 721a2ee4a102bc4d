import { isValidId } from './request.js';

/** Header shapes accepted by {@link downstreamSessionIdFromHeaders}: Fetch `Headers` or Node's `IncomingHttpHeaders`. */
export type HeaderSource = Headers | Readonly<Record<string, string | readonly string[] | undefined>>;


/**
 * Reads the downstream client's MCP session id (`Mcp-Session-Id`, any case) from request headers.
 *
 * @returns the id, or `undefined` when the header is absent, repeated, or not 1–256 visible ASCII characters
 * (the MCP spec's session-id rule), so the result can be passed to `acquire` as `downstreamSessionId`.
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 *
 * createServer((req, res) => {
 *   const downstreamSessionId = downstreamSessionIdFromHeaders(req.headers);
 *   if (downstreamSessionId === undefined) return void res.writeHead(400).end();
 *   // … serve the downstream session's request
 * });
 * ```
 */
export function downstreamSessionIdFromHeaders(headers: HeaderSource): string | undefined {
  let value: unknown;
  if (typeof headers !== 'object' || headers === null) return undefined;
  if (typeof Headers !== 'undefined' && headers instanceof Headers) {
    value = headers.get('mcp-session-id') ?? undefined;
  } else {
    const record = headers as Readonly<Record<string, unknown>>;
    value = record['mcp-session-id'];
    if (value === undefined) {
      for (const name in record) {
        if (Object.hasOwn(record, name) && name.toLowerCase() === 'mcp-session-id') {
          value = record[name];
          break;
        }
      }
    }
  }
  if (Array.isArray(value)) value = value.length === 1 ? (value[0] as unknown) : undefined;
  return isValidId(value) ? value : undefined;
}
