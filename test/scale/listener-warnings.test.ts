import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMcpSessionFactory } from '../../src/mcp/v1/factory.js';
import { createRequest, text, useUpstreams } from '../integration/fixtures/factory-helpers.js';
import { recordEvents } from '../integration/fixtures/wait.js';

const { upstream, track } = useUpstreams();
const CALLS = 10_000;

describe('many calls on one session', () => {
  const warnings: Error[] = [];
  const collect = (warning: Error): void => void warnings.push(warning);
  beforeEach(() => {
    warnings.length = 0;
    process.on('warning', collect);
  });
  afterEach(() => {
    process.off('warning', collect);
  });

  it(`raise no MaxListenersExceededWarning over ${CALLS.toLocaleString('en-US')} back-to-back calls`, { timeout: 180_000 }, async () => {
    const server = await upstream({ keepAlive: true });
    const connection = track(await createMcpSessionFactory().create(createRequest(server), recordEvents().events));

    let last: string | undefined;
    for (let i = 0; i < CALLS; i++) last = text(await connection.client.callTool({ name: 'increment', arguments: {} }));
    // Warnings are emitted on the next tick; let them arrive.
    await new Promise((resolve) => setImmediate(resolve));

    expect(last).toBe(String(CALLS));
    expect(warnings.filter((warning) => warning.name === 'MaxListenersExceededWarning')).toEqual([]);
  });
});
