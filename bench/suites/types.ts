/** What every suite is told by the runner. */
export interface SuiteOptions {
  /** Fewer iterations and repetitions (the `--quick` mode, under 60 s in total). */
  quick: boolean;
  /** Progress lines for the console. */
  log: (message: string) => void;
}
