/**
 * The isolated emitter (src/emitter.ts) is the only code that reads eventemitter3's listener records. This is
 * its contract with eventemitter3 ~5.0.4: `once`, listener contexts, listeners added or removed during an
 * emit, isolation of throwing and rejecting listeners, and batches delivered when the outermost one ends.
 */
import { EventEmitter } from 'eventemitter3';
import { describe, expect, it } from 'vitest';
import { IsolatedEmitter } from '../src/emitter.js';

interface Events {
  ping: (n: number) => void;
  pong: (n: number) => void;
}

function make() {
  const target = new EventEmitter<Events>();
  const failures: [string, unknown][] = [];
  const events = new IsolatedEmitter<Events>(target, (event, error) => failures.push([event, error]));
  return { target, events, failures };
}

describe('IsolatedEmitter over eventemitter3', () => {
  it('calls a once listener exactly once and removes it', () => {
    const { target, events } = make();
    const seen: number[] = [];
    target.once('ping', (n) => seen.push(n));
    events.emit('ping', 1);
    events.emit('ping', 2);
    expect(seen).toEqual([1]);
    expect(target.listenerCount('ping')).toBe(0);
  });

  it('keeps a once listener removed even when it throws', () => {
    const { target, events, failures } = make();
    target.once('ping', () => {
      throw new Error('boom');
    });
    events.emit('ping', 1);
    events.emit('ping', 2);
    expect(failures).toHaveLength(1);
    expect(target.listenerCount('ping')).toBe(0);
  });

  it('calls each listener with its context', () => {
    const { target, events } = make();
    const context = { name: 'ctx', seen: [] as number[] };
    target.on(
      'ping',
      function (this: typeof context, n: number) {
        this.seen.push(n);
      },
      context,
    );
    events.emit('ping', 7);
    expect(context.seen).toEqual([7]);
  });

  it('does not call a listener added during an emit until the next emit', () => {
    const { target, events } = make();
    const seen: string[] = [];
    target.on('ping', () => {
      seen.push('first');
      target.on('ping', () => seen.push('added'));
    });
    events.emit('ping', 1);
    expect(seen).toEqual(['first']);
    events.emit('ping', 2);
    expect(seen).toEqual(['first', 'first', 'added']);
  });

  it('still calls the other listeners when one throws or rejects, and reports both', async () => {
    const { target, events, failures } = make();
    const seen: number[] = [];
    target.on('ping', () => {
      throw new Error('sync');
    });
    target.on('ping', () => Promise.reject(new Error('async')) as unknown as void);
    target.on('ping', (n) => seen.push(n));
    events.emit('ping', 3);
    await Promise.resolve();
    expect(seen).toEqual([3]);
    expect(failures.map(([event, error]) => [event, (error as Error).message])).toEqual([
      ['ping', 'sync'],
      ['ping', 'async'],
    ]);
  });

  it('survives a failure reporter that throws', () => {
    const target = new EventEmitter<Events>();
    const events = new IsolatedEmitter<Events>(target, () => {
      throw new Error('reporter broke');
    });
    target.on('ping', () => {
      throw new Error('listener broke');
    });
    expect(() => events.emit('ping', 1)).not.toThrow();
  });

  it('reports whether anyone listens through listenerCount', () => {
    const { target, events } = make();
    expect(events.listening('ping')).toBe(false);
    const fn = (): void => undefined;
    target.on('ping', fn);
    expect(events.listening('ping')).toBe(true);
    target.off('ping', fn);
    expect(events.listening('ping')).toBe(false);
  });

  it('holds events emitted in a batch until the outermost batch ends, in order, also when it throws', () => {
    const { target, events } = make();
    const seen: string[] = [];
    target.on('ping', (n) => seen.push(`ping ${n}`));
    target.on('pong', (n) => seen.push(`pong ${n}`));
    events.batch(() => {
      events.emit('ping', 1);
      events.batch(() => events.emit('pong', 2));
      expect(seen).toEqual([]);
      events.emit('ping', 3);
    });
    expect(seen).toEqual(['ping 1', 'pong 2', 'ping 3']);
    expect(() =>
      events.batch(() => {
        events.emit('ping', 4);
        throw new Error('transition failed');
      }),
    ).toThrow('transition failed');
    expect(seen.at(-1)).toBe('ping 4');
  });

  it('delivers events a listener emits from inside a batch of its own, after the current one', () => {
    const { target, events } = make();
    const seen: string[] = [];
    target.on('ping', (n) => {
      seen.push(`ping ${n}`);
      if (n === 1) events.batch(() => events.emit('pong', 10));
    });
    target.on('pong', (n) => seen.push(`pong ${n}`));
    events.batch(() => {
      events.emit('ping', 1);
      events.emit('ping', 2);
    });
    expect(seen).toEqual(['ping 1', 'ping 2', 'pong 10']);
  });
});
