/**
 * One slot of an {@link LruList}. Allocated once per entry and list, and relinked on every use, so keeping
 * recency order costs no allocation and no hashing.
 */
export class LruNode<E> {
  prev: LruNode<E> | undefined = undefined;
  next: LruNode<E> | undefined = undefined;
  /** True while the node is in a list. */
  linked = false;

  /** @param value - What the node stands for (the registry's entry). */
  constructor(readonly value: E) {}
}

/**
 * A doubly-linked list of preallocated nodes, least recently appended first: O(1) `append` (move to the back) and
 * `remove`, iteration from the front. Iteration tolerates removing the current value.
 *
 * @example
 * ```ts
 * import { type Entry } from './entry.js';
 * declare const entry: Entry<FakeUpstreamClient>;
 * const idle = new LruList<Entry<FakeUpstreamClient>>();
 * idle.append(entry.upstreamIdleNode);   // used just now: to the back
 * const oldest = idle[Symbol.iterator]().next().value;
 * ```
 */
export class LruList<E> implements Iterable<E> {
  #head: LruNode<E> | undefined = undefined;
  #tail: LruNode<E> | undefined = undefined;
  /** Number of linked nodes. */
  size = 0;

  /** Links `node` at the back (unlinking it first if it is already in the list). */
  append(node: LruNode<E>): void {
    if (node.linked) this.remove(node);
    node.linked = true;
    node.prev = this.#tail;
    node.next = undefined;
    if (this.#tail === undefined) this.#head = node;
    else this.#tail.next = node;
    this.#tail = node;
    this.size += 1;
  }

  /** Unlinks `node`; a node that is not linked is ignored. */
  remove(node: LruNode<E>): void {
    if (!node.linked) return;
    node.linked = false;
    if (node.prev === undefined) this.#head = node.next;
    else node.prev.next = node.next;
    if (node.next === undefined) this.#tail = node.prev;
    else node.next.prev = node.prev;
    node.prev = undefined;
    node.next = undefined;
    this.size -= 1;
  }

  /** Values from least to most recently appended. */
  *[Symbol.iterator](): Iterator<E> {
    let node = this.#head;
    while (node !== undefined) {
      const next = node.next;
      yield node.value;
      node = next;
    }
  }
}
