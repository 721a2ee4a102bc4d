/**
 * The environment a stdio upstream process starts with (pure). Never the gateway's whole `process.env`: a
 * minimal set of variables every program expects, the factory's `inheritEnv` names, then the request's `env`.
 *
 * @packageDocumentation
 */

import { InvalidOptionsError } from '../../errors.js';

/** Variables every POSIX child gets from the gateway's environment when they are set. */
const POSIX_BASE: readonly string[] = ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'TERM', 'LANG', 'TMPDIR'];

/** The Windows equivalents (names compared case-insensitively there). */
const WINDOWS_BASE: readonly string[] = [
  'APPDATA',
  'COMSPEC',
  'HOMEDRIVE',
  'HOMEPATH',
  'LOCALAPPDATA',
  'PATH',
  'PATHEXT',
  'PROCESSOR_ARCHITECTURE',
  'PROGRAMDATA',
  'PROGRAMFILES',
  'PROGRAMFILES(X86)',
  'PROGRAMW6432',
  'SYSTEMDRIVE',
  'SYSTEMROOT',
  'TEMP',
  'TMP',
  'USERNAME',
  'USERPROFILE',
  'WINDIR',
];

/** A variable name the library accepts in `inheritEnv` and in a request's `env` (SPEC §7). */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The names of the minimal environment on `platform`.
 *
 * @param platform - A `process.platform` value.
 * @returns The variable names copied from the gateway's environment when they are set.
 * @example
 * ```ts
 * baseEnvironmentNames('linux'); // ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'TERM', 'LANG', 'TMPDIR']
 * ```
 */
export function baseEnvironmentNames(platform: NodeJS.Platform): readonly string[] {
  return platform === 'win32' ? WINDOWS_BASE : POSIX_BASE;
}

/** What {@link buildChildEnvironment} combines. */
export interface ChildEnvironmentInput {
  /** The gateway's environment (normally `process.env`); only named variables are read from it. */
  readonly parent: Readonly<Record<string, string | undefined>>;
  /** Extra names passed through from `parent` (the factory's `inheritEnv` option). */
  readonly inheritEnv: readonly string[];
  /** The request's `env`: added last, so it wins. */
  readonly requestEnv: Readonly<Record<string, string>>;
  /** @default process.platform */
  readonly platform?: NodeJS.Platform;
}

/**
 * Builds a child's environment: the minimal base ({@link baseEnvironmentNames}) and the `inheritEnv` names,
 * each copied from `parent` when set (a value starting with `()`, a shell function export, is skipped), then
 * the request's `env` over them. Nothing else from `parent` is ever copied. On Windows names are looked up
 * case-insensitively, as Windows itself does.
 *
 * @param input - See {@link ChildEnvironmentInput}.
 * @returns A fresh object; the inputs are not modified.
 * @example
 * ```ts
 * buildChildEnvironment({ parent: process.env, inheritEnv: ['NODE_OPTIONS'], requestEnv: { API_TOKEN: token } });
 * ```
 */
export function buildChildEnvironment(input: ChildEnvironmentInput): Record<string, string> {
  const platform = input.platform ?? process.platform;
  const lookup = parentLookup(input.parent, platform === 'win32');
  const env: Record<string, string> = {};
  for (const name of [...baseEnvironmentNames(platform), ...input.inheritEnv]) {
    const value = lookup(name);
    if (value !== undefined && !value.startsWith('()')) env[name] = value;
  }
  for (const [name, value] of Object.entries(input.requestEnv)) env[name] = value;
  return env;
}

function parentLookup(
  parent: Readonly<Record<string, string | undefined>>,
  caseInsensitive: boolean,
): (name: string) => string | undefined {
  const own = (name: string): string | undefined => (Object.hasOwn(parent, name) ? parent[name] : undefined);
  if (!caseInsensitive) return own;
  const byUpper = new Map<string, string>();
  for (const [name, value] of Object.entries(parent)) {
    if (value !== undefined && !byUpper.has(name.toUpperCase())) byUpper.set(name.toUpperCase(), value);
  }
  return (name) => byUpper.get(name.toUpperCase());
}

/**
 * Validates the `inheritEnv` factory option: an array of variable names matching `^[A-Za-z_][A-Za-z0-9_]*$`.
 *
 * @param value - The option as the host passed it.
 * @returns A frozen copy (an empty array when `value` is `undefined`).
 * @throws {@link InvalidOptionsError} naming `inheritEnv` when it is not an array of valid names.
 * @example
 * ```ts
 * const names = validateInheritEnv(['NODE_OPTIONS']); // readonly string[]
 * ```
 */
export function validateInheritEnv(value: unknown): readonly string[] {
  if (value === undefined) return Object.freeze([]);
  if (!Array.isArray(value)) {
    throw new InvalidOptionsError('inheritEnv', `Expected \`inheritEnv\` to be an array of variable names, got ${describe(value)}`);
  }
  const names: string[] = [];
  for (const [index, name] of (value as unknown[]).entries()) {
    if (typeof name !== 'string' || !ENV_NAME.test(name)) {
      throw new InvalidOptionsError(
        'inheritEnv',
        `Expected \`inheritEnv[${index}]\` to be a variable name matching ^[A-Za-z_][A-Za-z0-9_]*$, got ${describe(name)}`,
      );
    }
    names.push(name);
  }
  return Object.freeze(names);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `a string of length ${value.length}`;
  if (value === null) return 'null';
  return typeof value;
}
