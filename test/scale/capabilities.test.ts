import { describe, expect, it } from 'vitest';
import { announcedCapabilities } from '../../src/mcp/capabilities.js';

describe('capabilities announced upstream for a session', () => {
  it('are the downstream client’s, when the request carries them and the host relays', () => {
    const requested = { sampling: {}, elicitation: { form: {} }, experimental: { x: { y: 1 } } };
    expect(announcedCapabilities(requested, { roots: {} }, true)).toEqual(requested);
  });

  it('drop sampling, elicitation and roots when the host relays no server requests; other keys pass as given', () => {
    const requested = { sampling: {}, elicitation: {}, roots: { listChanged: true }, experimental: { x: {} }, tasks: {} };
    expect(announcedCapabilities(requested, undefined, false)).toEqual({ experimental: { x: {} }, tasks: {} });
  });

  it('never offer a relayed feature the downstream client lacks', () => {
    expect(announcedCapabilities({ roots: {} }, undefined, true)).toEqual({ roots: {} });
  });

  it('fall back to the factory-level capabilities, then to what the host relays', () => {
    expect(announcedCapabilities(undefined, { roots: {} }, true)).toEqual({ roots: {} });
    expect(announcedCapabilities(undefined, undefined, true)).toEqual({ sampling: {}, elicitation: {}, roots: {} });
    expect(announcedCapabilities(undefined, undefined, false)).toEqual({});
  });

  it('are a copy the SDK may keep', () => {
    const requested = Object.freeze({ experimental: Object.freeze({ x: {} }) });
    const announced = announcedCapabilities(requested, undefined, false);
    expect(announced.experimental).not.toBe(requested.experimental);
    expect(Object.isFrozen(announced)).toBe(false);
  });
});
