/**
 * A small *stateful* stdio MCP server: one counter per process. Run by `main.ts` as one child process per
 * downstream session. It logs to stderr (which the gateway streams through `onStderr`), never to stdout
 * (stdout carries the protocol).
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';

let count = 0;
const server = new McpServer({ name: 'stdio-counter', version: '1.0.0' });
server.registerTool('increment', { description: 'Adds one to this process’s counter' }, () => {
  count += 1;
  return { content: [{ type: 'text', text: String(count) }] };
});

await server.connect(new StdioServerTransport());
// Only variables the gateway allowed are here: the minimal set, `inheritEnv`, and the request's `env`.
console.error(`counter ${process.pid} up for ${process.env.COUNTER_OWNER ?? 'nobody'}; DATABASE_URL=${process.env.DATABASE_URL ?? 'unset'}`);
