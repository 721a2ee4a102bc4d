// The environment a stdio child starts with (SPEC §9): a minimal base, the factory's `inheritEnv`, then the
// request's `env` — never the gateway's whole environment.
import { describe, expect, it } from 'vitest';
import { InvalidOptionsError } from '../../src/index.js';
import { baseEnvironmentNames, buildChildEnvironment, validateInheritEnv } from '../../src/mcp/stdio/environment.js';

const parent = {
  PATH: '/usr/bin:/bin',
  HOME: '/home/gw',
  LANG: 'C.UTF-8',
  TMPDIR: '/tmp',
  GATEWAY_DB_PASSWORD: 'hunter2',
  NODE_OPTIONS: '--max-old-space-size=512',
  BASH_FUNC_x: '() { echo pwned; }',
};

describe('buildChildEnvironment', () => {
  it('copies only the minimal base from the gateway', () => {
    const env = buildChildEnvironment({ parent, inheritEnv: [], requestEnv: {}, platform: 'linux' });
    expect(env).toEqual({ PATH: '/usr/bin:/bin', HOME: '/home/gw', LANG: 'C.UTF-8', TMPDIR: '/tmp' });
    expect(baseEnvironmentNames('linux')).toEqual(['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'TERM', 'LANG', 'TMPDIR']);
  });

  it('adds inheritEnv names, skipping shell function exports', () => {
    const env = buildChildEnvironment({ parent, inheritEnv: ['NODE_OPTIONS', 'BASH_FUNC_x', 'UNSET'], requestEnv: {}, platform: 'linux' });
    expect(env.NODE_OPTIONS).toBe('--max-old-space-size=512');
    expect(env).not.toHaveProperty('BASH_FUNC_x');
    expect(env).not.toHaveProperty('UNSET');
    expect(env).not.toHaveProperty('GATEWAY_DB_PASSWORD');
  });

  it("lets the request's env win", () => {
    const env = buildChildEnvironment({ parent, inheritEnv: ['NODE_OPTIONS'], requestEnv: { PATH: '/opt/bin', NODE_OPTIONS: '', TOKEN: 't' }, platform: 'linux' });
    expect(env).toMatchObject({ PATH: '/opt/bin', NODE_OPTIONS: '', TOKEN: 't' });
  });

  it('looks names up case-insensitively on Windows', () => {
    const env = buildChildEnvironment({ parent: { Path: 'C:\\bin', SystemRoot: 'C:\\Windows', SECRET: 's' }, inheritEnv: [], requestEnv: {}, platform: 'win32' });
    expect(env).toEqual({ PATH: 'C:\\bin', SYSTEMROOT: 'C:\\Windows' });
  });
});

describe('validateInheritEnv', () => {
  it('accepts variable names and returns a frozen copy', () => {
    const input = ['NODE_OPTIONS', '_X1'];
    const names = validateInheritEnv(input);
    expect(names).toEqual(input);
    expect(Object.isFrozen(names)).toBe(true);
    expect(validateInheritEnv(undefined)).toEqual([]);
  });

  it.each([['PATH'], [['1ABC']], [['A-B']], [['']], [[null]], [{}]])('rejects %j', (value) => {
    expect(() => validateInheritEnv(value)).toThrow(InvalidOptionsError);
  });
});
