/**
 * `mcp-upstream-sessions/testing`: a test kit for code that uses the registry. `ManualClock` drives time,
 * `FakeSessionFactory` records and scripts upstream connections, `FakeUpstreamClient` stands in for a
 * stateful MCP client. No MCP SDK is loaded at runtime.
 *
 * @example
 * ```ts
 * import { FakeSessionFactory, ManualClock } from 'mcp-upstream-sessions/testing';
 *
 * const clock = new ManualClock();
 * const factory = new FakeSessionFactory({ clock });
 * const registry = new UpstreamSessionRegistry({ sessionFactory: factory, clock });
 * await registry.withSession(request, (client) => client.callTool({ name: 'increment' }));
 * expect(factory.created).toHaveLength(1);
 * ```
 * @packageDocumentation
 */
export { ManualClock, type ManualClockOptions, type ManualTimerHandle } from './manual-clock.js';
export {
  FakeUpstreamClient,
  type FakeCallToolParams,
  type FakeCallToolResult,
  type FakeClientMethod,
  type FakeClientScript,
  type FakeRequestBehavior,
  type FakeRequestRecord,
  type FakeTextContent,
  type FakeToolDescription,
  type FakeUpstreamClientOptions,
} from './fake-upstream-client.js';
export {
  FakeMcpError,
  createConnectionClosedError,
  createConnectionRefusedError,
  createMethodNotFoundError,
  createProcessExitedError,
  createSessionNotFoundError,
  createSpawnFailedError,
  type FakeStdioFailure,
} from './fake-errors.js';
export { FakeConnection, type FakeCloseBehavior, type FakeConnectionTraits, type FakeProbe } from './fake-connection.js';
export {
  FakeSessionFactory,
  type FakeCreateBehavior,
  type FakeFactoryScript,
  type FakeSessionFactoryOptions,
} from './fake-session-factory.js';
export { type ManualCreation } from './manual-creation.js';
