import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandArbitrary, configArbitrary } from './commands.js';
import { ModelRunner, type ProcessFailures } from './runner.js';

// Issue #6, model-based fault injection. Random command sequences drive one registry (FakeSessionFactory +
// ManualClock) over 3 downstream sessions × 3 upstreams: acquires (some with aborted or later-aborted
// signals), releases with and without transport errors, withSession bodies that throw, evictions, clock
// advances across every window, scripted create/close/probe behaviour, transport drops, notifications and
// closeAll in the middle of everything. After every step and at the end the runner checks the invariants
// listed in the README's "Guarantees" section (see runner.ts, `#check` and `#finish`).
//
// Replay a failure: MODEL_SEED=<seed> MODEL_PATH=<path> npx vitest run test/model/registry-model.test.ts
// (both are printed on failure; the seed is also in the describe name). MODEL_RUNS overrides the number of
// runs; MODEL_STEPS sets the steps one run must execute (default 10,000; CI soak: MODEL_STEPS=20000 for several
// seeds); MODEL_STATS=1 prints what the runs exercised (leases, evictions by reason, closeAll times…).
// Bugs the model found are kept as named reproductions in regressions.test.ts.

/** Longest generated sequence. Lengths spread over 0..MAX_STEPS (mean about MAX_STEPS / 2), so failures shrink. */
const MAX_STEPS = 150;
/** Steps the suite must execute in one run: MODEL_STEPS (e.g. 20000 for a long soak), else 10,000. */
const REQUIRED_STEPS = Number(process.env.MODEL_STEPS ?? 10_000);
/** Runs: MODEL_RUNS, else enough for REQUIRED_STEPS with room to spare (at least 300). */
const RUNS = Number(process.env.MODEL_RUNS ?? Math.max(300, Math.ceil((REQUIRED_STEPS / (MAX_STEPS / 2)) * 1.5)));

const failures: ProcessFailures = { unhandledRejections: [], uncaughtExceptions: [] };
const onRejection = (reason: unknown): void => {
  failures.unhandledRejections.push(reason);
};
const onException = (error: unknown): void => {
  failures.uncaughtExceptions.push(error);
};

beforeAll(() => {
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
});

afterAll(() => {
  process.off('unhandledRejection', onRejection);
  process.off('uncaughtException', onException);
});

/** The run's seed: MODEL_SEED when set, else random. Shown in the test name, so even a timeout replays. */
const SEED = seedFromEnv();

function seedFromEnv(): number {
  const raw = process.env.MODEL_SEED;
  if (raw === undefined || raw === '') return (Math.random() * 2 ** 31) | 0;
  const seed = Number(raw);
  if (!Number.isInteger(seed)) throw new Error(`MODEL_SEED must be an integer, got ${JSON.stringify(raw)}`);
  return seed;
}

describe(`registry model (MODEL_SEED=${SEED}): invariants hold under random commands, races and faults`, () => {
  it(`keeps every invariant over ${RUNS} random runs of up to ${MAX_STEPS} steps (at least ${REQUIRED_STEPS} steps)`, async () => {
    const seed = SEED;
    const path = process.env.MODEL_PATH;
    const replaying = path !== undefined && path !== '';
    let steps = 0;
    const stats: Record<string, number> = {};
    const property = fc.asyncProperty(
      configArbitrary,
      fc.array(commandArbitrary, { maxLength: MAX_STEPS, size: 'max' }),
      async (config, commands) => {
        const runner = new ModelRunner(config, failures);
        try {
          await runner.run(commands);
        } finally {
          steps += runner.steps;
          for (const [key, value] of Object.entries(runner.stats)) stats[key] = (stats[key] ?? 0) + value;
        }
      },
    );
    const details = await fc.check(property, {
      seed,
      numRuns: RUNS,
      ...(replaying ? { path, endOnFailure: true } : {}),
      // Bounded even when shrinking a failure: report what was found by then.
      interruptAfterTimeLimit: 150_000,
      markInterruptAsFailure: true,
    });
    if (process.env.MODEL_STATS === '1') console.log({ seed, steps, ...stats });
    if (details.failed) {
      const replay = `MODEL_SEED=${details.seed} MODEL_PATH=${details.counterexamplePath ?? ''} npx vitest run test/model/registry-model.test.ts`;
      console.error(`Registry model failed. Replay with:\n  ${replay}`);
      const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
      throw new Error(`Registry model failed (seed ${details.seed}): ${cause}\n\nReplay with:\n  ${replay}\n\n${fc.defaultReportMessage(details)}`);
    }
    if (!replaying && process.env.MODEL_RUNS === undefined) expect(steps).toBeGreaterThanOrEqual(REQUIRED_STEPS);
    expect(failures.unhandledRejections).toEqual([]);
    expect(failures.uncaughtExceptions).toEqual([]);
  }, 240_000);
});
