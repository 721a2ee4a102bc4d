/**
 * Heap growth over a soak run: the heap right after a full GC, sampled at a steady interval once the warm-up
 * is over; growth compares the median of the first quarter of the samples with the median of the last.
 * Medians make a sample taken mid-burst (a restart that has every session rebuilt) irrelevant.
 *
 * Two figures come out of the same samples:
 * - `heapUsed`: `process.memoryUsage().heapUsed`. The soak's limit applies to this one.
 * - `data`: `heapUsed` minus V8's compiled code and bytecode (with their metadata), printed alongside to
 *   read a failure: V8 keeps compiling for minutes (a rarely taken path is compiled when first run, hot
 *   functions move up its tiers), which grows the heap without being a leak. Heap snapshots 20 s and 120 s
 *   into a soak put essentially all of the growth between them in code and its dependency lists. A leak
 *   moves `data` as much as `heapUsed`; JIT growth moves only `heapUsed`.
 */
import { getHeapCodeStatistics } from 'node:v8';

/** One heap sample. */
export interface HeapSample {
  /** Milliseconds since the load started. */
  readonly atMs: number;
  /** `process.memoryUsage().heapUsed` after a full GC, in bytes. */
  readonly heapUsed: number;
  /** Bytes of compiled code and bytecode (with their metadata) in the heap: part of `heapUsed`. */
  readonly codeBytes: number;
  /** Live sessions in the registry when the sample was taken (for reading a heap figure, not judging it). */
  readonly sessions: number;
}

/** Medians of the first and last quarter, and the growth between them. */
export interface QuarterGrowth {
  readonly firstQuarterMedian: number;
  readonly lastQuarterMedian: number;
  /** (last − first) / first. */
  readonly growth: number;
}

/** The heap verdict of a run; the growth figures are `null` when there were too few samples to say. */
export interface HeapReport {
  readonly samples: number;
  /** Samples in each compared quarter. */
  readonly perQuarter: number;
  readonly heapUsed: QuarterGrowth | null;
  readonly data: QuarterGrowth | null;
}

/** Fewest samples per quarter for a growth figure to mean anything. */
export const MIN_SAMPLES_PER_QUARTER = 3;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function quarterGrowth(values: readonly number[], perQuarter: number): QuarterGrowth {
  const first = median(values.slice(0, perQuarter));
  const last = median(values.slice(values.length - perQuarter));
  return { firstQuarterMedian: first, lastQuarterMedian: last, growth: (last - first) / first };
}

/** The full-GC function `node --expose-gc` installs, or an error that says how to get it. */
export function exposedGc(): () => void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') throw new Error('The soak run needs `node --expose-gc` (use `npm run soak`)');
  return gc;
}

/** Collects heap samples and computes the quarter-median growth. */
export class HeapSampler {
  readonly #gc: () => void;
  readonly #samples: HeapSample[] = [];

  constructor(gc: () => void) {
    this.#gc = gc;
  }

  /**
   * Takes one sample. Runs a full GC, lets pending finalizers run (undici drops the abort listeners of
   * collected requests from a `FinalizationRegistry` callback), runs a full GC again, and reads the heap.
   */
  async sample(atMs: number, sessions: number): Promise<void> {
    this.#gc();
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.#gc();
    const heapUsed = process.memoryUsage().heapUsed;
    const code = getHeapCodeStatistics();
    const codeBytes = code.code_and_metadata_size + code.bytecode_and_metadata_size;
    this.#samples.push({ atMs, heapUsed, codeBytes, sessions });
  }

  /** Every sample so far, oldest first. */
  get samples(): readonly HeapSample[] {
    return this.#samples;
  }

  /** The growth between the first and the last quarter of the samples. */
  report(): HeapReport {
    const n = this.#samples.length;
    const perQuarter = Math.floor(n / 4);
    if (perQuarter < MIN_SAMPLES_PER_QUARTER) return { samples: n, perQuarter, heapUsed: null, data: null };
    return {
      samples: n,
      perQuarter,
      heapUsed: quarterGrowth(
        this.#samples.map((sample) => sample.heapUsed),
        perQuarter,
      ),
      data: quarterGrowth(
        this.#samples.map((sample) => sample.heapUsed - sample.codeBytes),
        perQuarter,
      ),
    };
  }
}
