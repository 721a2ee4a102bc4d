/**
 * Small statistics and timing helpers for the benchmark suites. Real clocks only (`process.hrtime`).
 */

/** Nanoseconds from a monotonic clock, as a number (safe for spans of far less than 104 days). */
export function nowNs(): number {
  return Number(process.hrtime.bigint());
}

/** Milliseconds elapsed since `startNs` (from {@link nowNs}). */
export function elapsedMs(startNs: number): number {
  return (nowNs() - startNs) / 1e6;
}

/** The median of `values` (the mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of an empty sample');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The `p`-th percentile (0–100) of `values`, nearest-rank. */
export function percentile(values: readonly number[] | Float64Array, p: number): number {
  if (values.length === 0) throw new Error('percentile of an empty sample');
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** Rounds to `digits` significant decimals for the JSON report (keeps integers as they are). */
export function round(value: number, digits = 3): number {
  if (!Number.isFinite(value)) return value;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** Runs a full garbage collection several times (the runner guarantees `--expose-gc`). */
export function fullGc(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('Run with node --expose-gc (npm run bench does)');
  for (let i = 0; i < 4; i++) gc();
}

/** Runs a young-generation collection (between samples, so one sample's garbage is not the next one's cost). */
export function minorGc(): void {
  const gc = (globalThis as { gc?: (options?: { type: 'minor' | 'major' }) => void }).gc;
  if (gc === undefined) throw new Error('Run with node --expose-gc (npm run bench does)');
  gc({ type: 'minor' });
}

/** Resolves after the event loop turned once (lets timers and I/O callbacks run between phases). */
export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
