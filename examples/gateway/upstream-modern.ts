/**
 * A modern-era (2026-07-28) upstream: `createMcpHandler` from `@modelcontextprotocol/server` 2.4, modern only
 * (no sessions, no `initialize`: clients discover it with `server/discover`), on 127.0.0.1. A tool, a tool
 * that asks the user for input through a multi-round-trip result (MRTR `input_required`), a prompt and a
 * resource: what a relay gateway must pass through to a downstream client of either era.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo } from 'node:net';
import { acceptedContent, createMcpHandler, inputRequired, McpServer } from '@modelcontextprotocol/server';
import * as z from 'zod/v4';

export interface ModernUpstream {
  /** The MCP endpoint. */
  readonly url: string;
  /** JSON-RPC methods (and bare HTTP methods) received, in order. */
  readonly seen: readonly string[];
  close(): Promise<void>;
}

/** The weather server: two tools (one asks for input through MRTR), a prompt and a resource. */
export function weatherServer(): McpServer {
  const server = new McpServer({ name: 'weather', version: '1.0.0' });
  server.registerTool('forecast', { description: 'Forecast for a city', inputSchema: z.object({ city: z.string() }) }, ({ city }) => ({
    content: [{ type: 'text', text: `${city}: sunny` }],
  }));
  server.registerTool('book-trip', { description: 'Books a trip after asking for a date', inputSchema: z.object({ city: z.string() }) }, ({ city }, ctx) => {
    const answer = acceptedContent(ctx.mcpReq.inputResponses, 'date', z.object({ date: z.string() }));
    if (answer === undefined) {
      return inputRequired({
        inputRequests: {
          date: inputRequired.elicit({
            message: `When do you travel to ${city}?`,
            requestedSchema: { type: 'object', properties: { date: { type: 'string' } }, required: ['date'] },
          }),
        },
      });
    }
    return { content: [{ type: 'text', text: `Booked ${city} on ${answer.date}` }] };
  });
  server.registerPrompt('packing-list', { description: 'What to pack', argsSchema: z.object({ city: z.string() }) }, ({ city }) => ({
    messages: [{ role: 'user', content: { type: 'text', text: `What should I pack for ${city}?` } }],
  }));
  server.registerResource('cities', 'weather://cities', { mimeType: 'text/plain' }, (uri) => ({
    contents: [{ uri: uri.href, text: 'Paris\nLima\nOslo' }],
  }));
  return server;
}

/** The part of a `createMcpHandler` result a Node HTTP server needs: its fetch-style entry point. */
export interface FetchHandler {
  fetch(request: Request): Promise<Response>;
}

/**
 * Serves a fetch-style MCP handler over `node:http` on a random 127.0.0.1 port, recording each request's
 * JSON-RPC method (or bare HTTP method) in `seen`. Resolves once listening.
 */
export async function serveOnLoopback(handler: FetchHandler, seen: string[]): Promise<{ server: Server; url: string }> {
  const http = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      const method = body.length > 0 ? (JSON.parse(body.toString('utf8')) as { method?: string }).method : undefined;
      seen.push(method ?? req.method ?? '?');
      const controller = new AbortController();
      res.on('close', () => controller.abort());
      const init: RequestInit = { method: req.method ?? 'GET', headers: req.headers as Record<string, string>, signal: controller.signal };
      if (body.length > 0) init.body = new Uint8Array(body);
      const response = await handler.fetch(new Request(`http://127.0.0.1${req.url ?? '/'}`, init));
      const headers: Record<string, string> = {};
      response.headers.forEach((value, name) => (headers[name] = value));
      res.writeHead(response.status, headers);
      const reader = response.body?.getReader();
      for (let read = await reader?.read(); read !== undefined && !read.done; read = await reader?.read()) res.write(read.value);
      res.end();
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return { server: http, url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp` };
}

/** Starts the modern upstream on a random loopback port. */
export async function startModernUpstream(): Promise<ModernUpstream> {
  const handler = createMcpHandler(() => weatherServer(), { legacy: 'reject', keepAliveMs: 0 });
  const seen: string[] = [];
  const { server: http, url } = await serveOnLoopback(handler, seen);
  return {
    url,
    seen,
    async close() {
      await handler.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
