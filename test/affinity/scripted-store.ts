/** Test helper: an AffinityStore wrapper that records calls and can be told to fail, throw or hang. */
import { type AffinityStore } from '../../src/affinity/store.js';

export type StoreOperation = keyof AffinityStore;
export type Behaviour = 'ok' | 'reject' | 'throw' | 'hang';

export interface StoreCall {
  operation: StoreOperation;
  args: unknown[];
}

export class ScriptedStore implements AffinityStore {
  readonly calls: StoreCall[] = [];
  readonly behaviour: Partial<Record<StoreOperation, Behaviour>> = {};
  /** What a `'reject'` behaviour rejects with, per operation (default: an Error saying "connection refused"). */
  readonly rejections: Partial<Record<StoreOperation, unknown>> = {};
  /** Calls currently in flight, and the most seen at once, per operation. */
  readonly inFlight: Partial<Record<StoreOperation, number>> = {};
  readonly maxInFlight: Partial<Record<StoreOperation, number>> = {};
  /** When set, calls of these operations wait until `openGate()`. */
  gated = new Set<StoreOperation>();
  #gate: { promise: Promise<void>; open: () => void } = ScriptedStore.#newGate();

  constructor(readonly inner: AffinityStore) {}

  static #newGate(): { promise: Promise<void>; open: () => void } {
    let open!: () => void;
    const promise = new Promise<void>((resolve) => {
      open = resolve;
    });
    return { promise, open };
  }

  openGate(): void {
    this.#gate.open();
    this.#gate = ScriptedStore.#newGate();
  }

  count(operation: StoreOperation): number {
    return this.calls.filter((call) => call.operation === operation).length;
  }

  operations(): StoreOperation[] {
    return this.calls.map((call) => call.operation);
  }

  #call<T>(operation: StoreOperation, args: unknown[], run: () => Promise<T>): Promise<T> {
    this.calls.push({ operation, args });
    const behaviour = this.behaviour[operation] ?? 'ok';
    if (behaviour === 'throw') throw new Error(`${operation} threw synchronously`);
    if (behaviour === 'reject') {
      return Promise.reject(
        operation in this.rejections ? this.rejections[operation] : new Error(`${operation} failed: connection refused`),
      );
    }
    if (behaviour === 'hang') return new Promise<T>(() => undefined);
    const current = (this.inFlight[operation] ?? 0) + 1;
    this.inFlight[operation] = current;
    this.maxInFlight[operation] = Math.max(this.maxInFlight[operation] ?? 0, current);
    const gate = this.gated.has(operation) ? this.#gate.promise : Promise.resolve();
    return gate.then(run).finally(() => {
      this.inFlight[operation] = (this.inFlight[operation] ?? 1) - 1;
    });
  }

  claim(sessionId: string, workerId: string, ttlMs: number): Promise<string> {
    return this.#call('claim', [sessionId, workerId, ttlMs], () => this.inner.claim(sessionId, workerId, ttlMs));
  }
  refresh(sessionId: string, workerId: string, ttlMs: number): Promise<boolean> {
    return this.#call('refresh', [sessionId, workerId, ttlMs], () => this.inner.refresh(sessionId, workerId, ttlMs));
  }
  release(sessionId: string, workerId: string): Promise<boolean> {
    return this.#call('release', [sessionId, workerId], () => this.inner.release(sessionId, workerId));
  }
  owner(sessionId: string): Promise<string | null> {
    return this.#call('owner', [sessionId], () => this.inner.owner(sessionId));
  }
  reclaim(sessionId: string, deadWorkerId: string, workerId: string, ttlMs: number): Promise<boolean> {
    return this.#call('reclaim', [sessionId, deadWorkerId, workerId, ttlMs], () =>
      this.inner.reclaim(sessionId, deadWorkerId, workerId, ttlMs),
    );
  }
  heartbeat(workerId: string, ttlMs: number): Promise<void> {
    return this.#call('heartbeat', [workerId, ttlMs], () => this.inner.heartbeat(workerId, ttlMs));
  }
  isAlive(workerId: string): Promise<boolean> {
    return this.#call('isAlive', [workerId], () => this.inner.isAlive(workerId));
  }
}
