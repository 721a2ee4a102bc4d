import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { requestSignal } from '../../src/mcp/request-signals.js';

describe('per-request signals', () => {
  it('adds one listener to the long-lived signal however many requests follow it', () => {
    const parent = new AbortController();
    const signals = Array.from({ length: 1_000 }, () => requestSignal(parent.signal));

    expect(new Set(signals).size).toBe(1_000);
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(1);
    for (const signal of signals) expect(signal.aborted).toBe(false);
  });

  it('aborts every request still alive with the long-lived signal’s reason', () => {
    const parent = new AbortController();
    const signals = Array.from({ length: 100 }, () => requestSignal(parent.signal));
    const reason = new Error('transport closed');

    parent.abort(reason);

    for (const signal of signals) {
      expect(signal.aborted).toBe(true);
      expect(signal.reason).toBe(reason);
    }
  });

  it('is already aborted when the long-lived signal is', () => {
    const reason = new Error('gone');
    const signal = requestSignal(AbortSignal.abort(reason));
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe(reason);
  });

  it('gives a fresh, never-aborting signal without a parent', () => {
    expect(requestSignal(undefined).aborted).toBe(false);
    expect(requestSignal(null)).not.toBe(requestSignal(null));
  });
});
