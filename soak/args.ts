/** Command line of the soak run: `npm run soak -- [--seconds N] [--requests N] [--json <path>] [--seed N]`. */

/** Parsed command line. */
export interface SoakArgs {
  /** Wall-clock bound of the load phase. */
  readonly seconds: number;
  /** Most requests issued (the run ends at whichever bound comes first). */
  readonly requests: number;
  /** Where to write the JSON report, if anywhere. */
  readonly json: string | undefined;
  /** Seed of the random choices (printed, so a run's choices can be replayed). */
  readonly seed: number;
}

export const DEFAULT_SECONDS = 60;
export const DEFAULT_REQUESTS = 200_000;

export const USAGE = `Usage: npm run soak -- [--seconds N] [--requests N] [--json <path>] [--seed N]
  --seconds N    load phase length in seconds (default ${DEFAULT_SECONDS})
  --requests N   request budget; the load stops at whichever bound comes first (default ${DEFAULT_REQUESTS})
  --json <path>  also write the report as JSON
  --seed N       seed of the random choices (default: random, printed)`;

function positiveInteger(flag: string, value: string | undefined): number {
  const n = Number(value);
  if (value === undefined || !Number.isInteger(n) || n <= 0) {
    throw new Error(`Expected \`${flag}\` to be a positive integer, got \`${String(value)}\``);
  }
  return n;
}

/** Parses `argv` (without node and the script). Throws with a message naming the bad flag. */
export function parseArgs(argv: readonly string[]): SoakArgs | 'help' {
  let seconds = DEFAULT_SECONDS;
  let requests = DEFAULT_REQUESTS;
  let json: string | undefined;
  let seed = Math.floor(Math.random() * 2 ** 31);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=') ? (arg.split(/=(.*)/s, 2) as [string, string]) : [arg, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case '--seconds':
        seconds = positiveInteger(flag, value());
        break;
      case '--requests':
        requests = positiveInteger(flag, value());
        break;
      case '--json':
        json = value();
        if (json === undefined || json === '') throw new Error('Expected a path after `--json`');
        break;
      case '--seed':
        seed = Number(value());
        if (!Number.isInteger(seed) || seed < 0) throw new Error('Expected `--seed` to be a non-negative integer');
        break;
      case '--help':
      case '-h':
        return 'help';
      default:
        throw new Error(`Unknown argument \`${arg}\`\n${USAGE}`);
    }
  }
  return { seconds, requests, json, seed };
}
