import { InvalidOptionsError, InvalidRequestError } from '../errors.js';

/** Longest id an affinity store accepts, in UTF-16 code units (generous: the registry allows 256). */
export const MAX_STORE_ID_LENGTH = 1024;

/** Largest TTL accepted: Node's timer range, which is also far below Redis's `PX` limit. */
export const MAX_TTL_MS = 2_147_483_647;

function describe(value: unknown): string {
  if (typeof value === 'string') return `a string of length ${value.length}`;
  if (typeof value === 'number') return `\`${String(value)}\` (number)`;
  if (value === null) return 'null';
  return typeof value;
}

/**
 * Checks an id passed to an {@link AffinityStore} method (a downstream session id or a worker id).
 * Stores accept any non-empty string up to {@link MAX_STORE_ID_LENGTH}; they encode ids themselves.
 * @throws {@link InvalidRequestError} naming the argument.
 */
export function assertStoreId(field: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_STORE_ID_LENGTH) {
    throw new InvalidRequestError(
      field,
      `Expected \`${field}\` to be a non-empty string of at most ${MAX_STORE_ID_LENGTH} characters, got ${describe(value)}`,
    );
  }
}

/**
 * Checks a TTL passed to an {@link AffinityStore} method: an integer number of milliseconds from 1 to
 * {@link MAX_TTL_MS}.
 * @throws {@link InvalidRequestError}
 */
export function assertTtl(value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_TTL_MS) {
    throw new InvalidRequestError(
      'ttlMs',
      `Expected \`ttlMs\` to be an integer number of milliseconds from 1 to ${MAX_TTL_MS}, got ${describe(value)}`,
    );
  }
}

/**
 * Checks a store's options argument: `undefined` or a plain object with only `known` keys.
 * @throws {@link InvalidOptionsError}
 */
export function assertStoreOptions(value: unknown, known: readonly string[]): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidOptionsError('options', `Expected options to be an object, got ${describe(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) throw new InvalidOptionsError(key, `Unknown option \`${key}\``);
  }
  return value as Record<string, unknown>;
}
