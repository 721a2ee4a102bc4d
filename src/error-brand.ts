/**
 * Cross-copy `instanceof` for the library's error classes (undici's and the MCP SDK's `Symbol.for` brand with
 * `static [Symbol.hasInstance]`), keeping ordinary subclass semantics.
 *
 * Each library class registers a version-less brand; every instance is stamped, at construction, with the brands
 * of the library classes in its chain. `instanceof` is the ordinary prototype check, or — for a library class
 * only — a match of that class's brand on the instance. A host's own subclass has no brand of its own, so it
 * matches by prototype alone: an instance of its parent (from any copy) is never taken for it.
 *
 * @packageDocumentation
 */

/**
 * Where every instance keeps the brands of its class chain: a `Set` of version-less strings such as
 * `'mcp-upstream-sessions.CapacityError'`. `Symbol.for`, so duplicate copies of the package share it.
 */
const BRANDS = Symbol.for('mcp-upstream-sessions.errorBrands');

/** The brand of each library class, registered once per class (never on a host's subclass). */
const CLASS_BRANDS = new WeakMap<object, string>();

/** Registers `cls` as a library error class with a version-less brand. */
export function brandErrorClass(cls: object, name: string): void {
  CLASS_BRANDS.set(cls, `mcp-upstream-sessions.${name}`);
}

/** Stamps `instance` with the brands of every library class in `ctor`'s chain. */
export function stampErrorBrands(instance: object, ctor: unknown): void {
  const brands = new Set<string>();
  for (let current = ctor; typeof current === 'function'; current = Object.getPrototypeOf(current) as unknown) {
    const own = CLASS_BRANDS.get(current);
    if (own !== undefined) brands.add(own);
  }
  Object.defineProperty(instance, BRANDS, { value: brands, enumerable: false, configurable: true });
}

/** Ordinary prototype `instanceof`, or, for a library class, the brand another copy of the package stamped. */
export function hasErrorInstance(cls: object, value: unknown): boolean {
  if (Function.prototype[Symbol.hasInstance].call(cls, value)) return true;
  if (typeof value !== 'object' || value === null) return false;
  const own = CLASS_BRANDS.get(cls);
  if (own === undefined) return false;
  try {
    if (!Object.prototype.hasOwnProperty.call(value, BRANDS)) return false;
    const carried = (value as Record<symbol, unknown>)[BRANDS];
    return carried instanceof Set && carried.has(own);
  } catch {
    return false;
  }
}

