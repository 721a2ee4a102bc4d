import { type Clock } from './clock.js';
import { type ListChangedKind } from './events.js';

const LIST_CHANGED: ReadonlyMap<string, ListChangedKind> = new Map([
  ['notifications/tools/list_changed', 'tools'],
  ['notifications/prompts/list_changed', 'prompts'],
  ['notifications/resources/list_changed', 'resources'],
]);

/** The list kind a notification method announces as changed, or `undefined` for other methods. */
export function listChangedKind(method: string): ListChangedKind | undefined {
  return LIST_CHANGED.get(method);
}

/**
 * Debounces list-changed notifications per upstream: the first one arms a timer of `debounceMs`; every kind
 * seen until it fires is reported once, in one call to `emit`.
 */
export class ListChangedDebouncer {
  private readonly pending = new Map<string, { kinds: Set<ListChangedKind>; timer: unknown }>();

  constructor(
    private readonly clock: Clock,
    private readonly debounceMs: number,
    private readonly emit: (upstreamId: string, kinds: ListChangedKind[]) => void,
  ) {}

  /** Records that `upstreamId` announced a change of `kind`. */
  add(upstreamId: string, kind: ListChangedKind): void {
    const existing = this.pending.get(upstreamId);
    if (existing !== undefined) {
      existing.kinds.add(kind);
      return;
    }
    const kinds = new Set<ListChangedKind>([kind]);
    const timer = this.clock.setTimeout(() => {
      this.pending.delete(upstreamId);
      this.emit(upstreamId, [...kinds]);
    }, this.debounceMs);
    this.pending.set(upstreamId, { kinds, timer });
  }

  /** Drops every pending report and its timer. */
  clear(): void {
    for (const { timer } of this.pending.values()) this.clock.clearTimeout(timer);
    this.pending.clear();
  }
}
