import { InvalidRequestError } from '../errors.js';
import { type EraVerdict } from './store.js';

/** Longest era-store key accepted, in UTF-16 code units (the factory's keys are 64 hex characters). */
export const MAX_ERA_KEY_LENGTH = 1024;

/** Largest TTL accepted: Node's timer range, which is also far below Redis's `PX` limit. */
export const MAX_ERA_TTL_MS = 2_147_483_647;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Checks a key passed to an {@link EraStore} method.
 * @throws {@link InvalidRequestError} for anything but a non-empty string of at most 1024 characters.
 */
export function assertEraKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_ERA_KEY_LENGTH) {
    throw new InvalidRequestError('key', `Expected \`key\` to be a non-empty string of at most ${MAX_ERA_KEY_LENGTH} characters`);
  }
}

/**
 * Checks a verdict TTL: an integer number of milliseconds from 1 to {@link MAX_ERA_TTL_MS}.
 * @throws {@link InvalidRequestError}
 */
export function assertEraTtl(ttlMs: unknown): asserts ttlMs is number {
  if (typeof ttlMs !== 'number' || !Number.isInteger(ttlMs) || ttlMs < 1 || ttlMs > MAX_ERA_TTL_MS) {
    throw new InvalidRequestError(
      'ttlMs',
      `Expected \`ttlMs\` to be an integer number of milliseconds from 1 to ${MAX_ERA_TTL_MS}, got ${typeof ttlMs === 'number' ? `\`${String(ttlMs)}\`` : typeof ttlMs}`,
    );
  }
}

/** Whether `value` is a well-formed {@link EraVerdict}. */
export function isEraVerdict(value: unknown): value is EraVerdict {
  if (!isPlainObject(value) || typeof value.checkedAt !== 'number' || !Number.isFinite(value.checkedAt)) return false;
  if (value.era === 'legacy') return true;
  return value.era === 'modern' && isPlainObject(value.discover);
}

/**
 * Checks a verdict passed to `EraStore.set`.
 * @throws {@link InvalidRequestError} for anything but a well-formed {@link EraVerdict}.
 */
export function assertEraVerdict(value: unknown): asserts value is EraVerdict {
  if (!isEraVerdict(value)) {
    throw new InvalidRequestError(
      'verdict',
      "Expected `verdict` to be `{ era: 'legacy', checkedAt }` or `{ era: 'modern', discover: {…}, checkedAt }` with a finite `checkedAt`",
    );
  }
}

/**
 * A detached copy of a verdict (JSON round trip), so a caller mutating what it got back never changes what
 * a store holds. Only the verdict's own fields are kept.
 */
export function copyVerdict(verdict: EraVerdict): EraVerdict {
  return verdict.era === 'modern'
    ? { era: 'modern', discover: JSON.parse(JSON.stringify(verdict.discover)) as Record<string, unknown>, checkedAt: verdict.checkedAt }
    : { era: 'legacy', checkedAt: verdict.checkedAt };
}

/** Parses a stored verdict; `undefined` for text that is not a well-formed verdict (treated as a miss). */
export function parseVerdict(text: string): EraVerdict | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return isEraVerdict(value) ? copyVerdict(value) : undefined;
  } catch {
    return undefined;
  }
}
