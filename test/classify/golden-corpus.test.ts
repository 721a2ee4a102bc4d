import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyError, isSuspectError, isTransportError } from '../../src/classify/index.js';
import { captureAll, startCaptureServers, type CaptureServers, type CapturedError } from './capture.js';
import { CORPUS } from './corpus.js';

// SPEC §4.4, §7, §8 "Errors": real errors from the real SDKs (v1 and v2) against real loopback servers are
// recognised as the corpus says: transport errors evict, suspect errors make the next acquire probe, and every
// error gets its category.

let servers: CaptureServers;
let captured: CapturedError[];

beforeAll(async () => {
  servers = await startCaptureServers();
  captured = await captureAll(servers);
}, 30_000);

afterAll(async () => {
  await servers.close();
});

describe('the golden corpus of real SDK errors', () => {
  it('captures exactly the cases the corpus names', () => {
    expect(captured.map((c) => c.id).sort()).toEqual(Object.keys(CORPUS).sort());
  });

  for (const [id, expected] of Object.entries(CORPUS)) {
    it(`${id}: ${expected.category}, transport ${String(expected.transport)}, suspect ${String(expected.suspect)}`, () => {
      const found = captured.find((c) => c.id === id);
      expect(found, `case ${id} was captured`).toBeDefined();
      const error = found?.error;
      expect(error).toBeInstanceOf(Error);
      expect({
        category: classifyError(error),
        transport: isTransportError(error),
        suspect: isSuspectError(error),
      }).toEqual({ category: expected.category, transport: expected.transport, suspect: expected.suspect });
    });
  }

  it('recognises the SDK v2 errors by brand, not by class identity', () => {
    const v2 = captured.filter((c) => c.id.startsWith('v2.')).map((c) => c.error as object);
    const branded = v2.filter((error) => Object.prototype.hasOwnProperty.call(error, Symbol.for('mcp.sdk.errorBrands')));
    expect(branded.length).toBeGreaterThan(5);
    for (const error of branded) {
      // A structured clone of the fields (what another bundled copy of the SDK would hand us) classifies the same.
      const copy = Object.assign(Object.create(Error.prototype) as Error, error, {
        name: (error as Error).name,
        message: (error as Error).message,
        cause: (error as Error).cause,
        [Symbol.for('mcp.sdk.errorBrands')]: new Set((error as Record<symbol, Set<string>>)[Symbol.for('mcp.sdk.errorBrands')]),
      });
      if ('status' in error) Object.defineProperty(copy, 'status', { value: error.status });
      expect(classifyError(copy)).toBe(classifyError(error));
      expect(isTransportError(copy)).toBe(isTransportError(error));
    }
  });
});
