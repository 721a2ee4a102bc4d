import { describe, expect, it } from 'vitest';
import * as api from '../src/index.js';
import {
  CapacityError,
  CircuitOpenError,
  InvalidOptionsError,
  InvalidRequestError,
  NotOwnerError,
  RegistryClosedError,
  SessionCreateError,
  SessionCreateTimeoutError,
  SessionEvictedError,
  UpstreamSessionError,
  type UpstreamSessionErrorCode,
} from '../src/index.js';
import type * as errorsModule from '../src/errors.js';

// SPEC §7 and STYLE 8: every error extends UpstreamSessionError, carries a stable `code`, keeps `cause`, has
// a useful name and message, and `instanceof` works across duplicate copies of the package (brand check).

type ErrorsModule = typeof errorsModule;

/** One sample of each exported error class, built through `errors` (this copy of the package or another). */
function samples(errors: ErrorsModule) {
  const cause = new Error('connect ECONNREFUSED 127.0.0.1:9');
  return {
    UpstreamSessionError: {
      error: new errors.UpstreamSessionError('CAPACITY', 'base error', { cause }),
      code: 'CAPACITY',
      cause,
      message: /base error/,
    },
    InvalidRequestError: {
      error: new errors.InvalidRequestError('upstreamId', 'Expected `upstreamId` to be 1-256 visible ASCII characters'),
      code: 'INVALID_REQUEST',
      message: /upstreamId/,
    },
    InvalidOptionsError: {
      error: new errors.InvalidOptionsError('closeTimeoutMs', 'Expected `closeTimeoutMs` to be >= 0, got `-1` (number)'),
      code: 'INVALID_OPTIONS',
      message: /closeTimeoutMs.*-1/,
    },
    RegistryClosedError: { error: new errors.RegistryClosedError(), code: 'REGISTRY_CLOSED', message: /closed/i },
    SessionCreateError: {
      error: new errors.SessionCreateError('github', 'connection_refused', cause),
      code: 'CREATE_FAILED',
      cause,
      message: /github.*connection_refused/,
    },
    SessionCreateTimeoutError: {
      error: new errors.SessionCreateTimeoutError('github', 30_000),
      code: 'CREATE_TIMEOUT',
      message: /github.*30000 ms/,
    },
    SessionEvictedError: { error: new errors.SessionEvictedError('close-all'), code: 'EVICTED', message: /close-all/ },
    CapacityError: { error: new errors.CapacityError('registry', 10_000), code: 'CAPACITY', message: /10000/ },
    CircuitOpenError: {
      error: new errors.CircuitOpenError('github', 12_345),
      code: 'CIRCUIT_OPEN',
      message: /github.*12345 ms/,
    },
    NotOwnerError: { error: new errors.NotOwnerError('down-1', 'worker-2'), code: 'NOT_OWNER', message: /down-1.*worker-2/ },
  } satisfies Record<string, { error: UpstreamSessionError; code: UpstreamSessionErrorCode; cause?: unknown; message: RegExp }>;
}

const ERROR_NAMES = [
  'CapacityError',
  'CircuitOpenError',
  'InvalidOptionsError',
  'InvalidRequestError',
  'NotOwnerError',
  'RegistryClosedError',
  'SessionCreateError',
  'SessionCreateTimeoutError',
  'SessionEvictedError',
  'UpstreamSessionError',
];

/** The exported values of src/index.ts that are Error classes. */
function exportedErrorClasses(): [string, new (...args: never[]) => Error][] {
  return (Object.entries(api) as [string, unknown][]).filter(
    (entry): entry is [string, new (...args: never[]) => Error] =>
      typeof entry[1] === 'function' && (entry[1] as { prototype?: unknown }).prototype instanceof Error,
  );
}

describe('every exported error class', () => {
  it('is one of the error classes of SPEC §7 (adding one is a deliberate act)', () => {
    expect(exportedErrorClasses().map(([name]) => name).sort()).toEqual(ERROR_NAMES);
    expect(Object.keys(samples(api)).sort()).toEqual(ERROR_NAMES);
  });

  for (const name of ERROR_NAMES) {
    it(`${name} extends UpstreamSessionError and Error, with its stable code, name and message`, () => {
      const sample = samples(api)[name as keyof ReturnType<typeof samples>];
      const { error } = sample;
      const cls = (api as unknown as Record<string, new (...args: never[]) => Error>)[name]!;
      expect(error).toBeInstanceOf(cls);
      expect(error).toBeInstanceOf(UpstreamSessionError);
      expect(error).toBeInstanceOf(Error);
      expect(Object.prototype.isPrototypeOf.call(Error.prototype, error)).toBe(true);
      expect(Object.prototype.isPrototypeOf.call(UpstreamSessionError.prototype, error)).toBe(true);
      expect(error.code).toBe(sample.code);
      expect(error.name).toBe(name);
      expect(String(error)).toMatch(new RegExp(`^${name}: `));
      expect(error.message).toMatch(sample.message);
      expect(error.stack).toContain(name);
      expect(typeof error.code).toBe('string');
      if (name !== 'UpstreamSessionError') {
        expect((cls as unknown as { CODE?: string }).CODE).toBe(sample.code);
      }
    });
  }

  it('every subclass has a distinct code', () => {
    const codes = Object.entries(samples(api))
      .filter(([name]) => name !== 'UpstreamSessionError')
      .map(([, s]) => s.code);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('keeps `cause` where one is given', () => {
    const s = samples(api);
    expect(s.SessionCreateError.error.cause).toBe(s.SessionCreateError.cause);
    expect(s.UpstreamSessionError.error.cause).toBe(s.UpstreamSessionError.cause);
    const nonError = new SessionCreateError('up', 'unknown', { status: 503 });
    expect(nonError.cause).toEqual({ status: 503 });
    expect(new UpstreamSessionError('EVICTED', 'no cause').cause).toBeUndefined();
  });

  it('carries the details the host needs as fields', () => {
    const s = samples(api);
    expect(s.InvalidRequestError.error.field).toBe('upstreamId');
    expect(s.InvalidOptionsError.error.option).toBe('closeTimeoutMs');
    expect(s.SessionCreateError.error).toMatchObject({ upstreamId: 'github', category: 'connection_refused' });
    expect(s.SessionCreateTimeoutError.error).toMatchObject({ upstreamId: 'github', timeoutMs: 30_000 });
    expect(s.SessionEvictedError.error.reason).toBe('close-all');
    expect(s.CapacityError.error).toMatchObject({ scope: 'registry', limit: 10_000 });
    expect(new CapacityError('upstream', 3, 'github').message).toMatch(/github.*3/);
    expect(s.CircuitOpenError.error).toMatchObject({ upstreamId: 'github', retryAfterMs: 12_345 });
    expect(s.NotOwnerError.error.owner).toBe('worker-2');
  });

  it('a SessionCreateError message never repeats URL credentials or the given secrets from its cause', () => {
    const cause = new Error('POST https://user:pw-XYZ@up.example/mcp?key=k-XYZ failed: Bearer tok-XYZ rejected');
    const error = new SessionCreateError('up', 'auth_unauthorized', cause, ['Bearer tok-XYZ']);
    expect(error.cause).toBe(cause); // the original is kept as it was
    expect(error.message).not.toMatch(/XYZ/);
    expect(String(error)).not.toMatch(/XYZ/);
  });
});

describe('instanceof', () => {
  it('is false between different subclasses and for look-alikes', () => {
    // (A bare UpstreamSessionError built with a subclass's code counts as that subclass: the brand check
    // compares codes. Only the subclasses' own instances are compared here.)
    const all = Object.entries(samples(api))
      .filter(([name]) => name !== 'UpstreamSessionError')
      .map(([, s]) => s.error);
    const classes = exportedErrorClasses().filter(([name]) => name !== 'UpstreamSessionError');
    for (const error of all) {
      for (const [name, cls] of classes) {
        expect(error instanceof cls, `${error.name} instanceof ${name}`).toBe(error.name === name);
      }
    }
    expect(new Error('x')).not.toBeInstanceOf(UpstreamSessionError);
    expect({ code: 'CAPACITY', name: 'CapacityError', message: 'x' }).not.toBeInstanceOf(CapacityError);
    expect(Object.assign(new Error('x'), { code: 'CAPACITY' })).not.toBeInstanceOf(CapacityError);
    expect(null).not.toBeInstanceOf(UpstreamSessionError);
    expect('CapacityError').not.toBeInstanceOf(UpstreamSessionError);
  });

  it('works for host subclasses of an error class', () => {
    class HostCapacityError extends CapacityError {}
    const error = new HostCapacityError('upstream', 2, 'x');
    expect(error).toBeInstanceOf(CapacityError);
    expect(error).toBeInstanceOf(UpstreamSessionError);
    expect(error).not.toBeInstanceOf(CircuitOpenError);
    expect(error.name).toBe('HostCapacityError');
  });

  describe('across two copies of the package', () => {
    async function loadCopy(): Promise<ErrorsModule> {
      // A query string makes Vite load src/errors.ts again as a separate module instance.
      const specifier = '../src/errors.js?copy=2';
      return (await import(/* @vite-ignore */ specifier)) as ErrorsModule;
    }

    it('loads a genuinely distinct copy of the error classes', async () => {
      const copy = await loadCopy();
      expect(copy.CapacityError).not.toBe(CapacityError);
      expect(copy.UpstreamSessionError).not.toBe(UpstreamSessionError);
      expect(Object.getPrototypeOf(copy.CapacityError.prototype)).toBe(copy.UpstreamSessionError.prototype);
      // Without the brand check, plain prototype chains would not match across copies.
      expect(Object.prototype.isPrototypeOf.call(CapacityError.prototype, new copy.CapacityError('registry', 1))).toBe(false);
    });

    it('new CopyCapacityError(...) instanceof CapacityError, and vice versa', async () => {
      const copy = await loadCopy();
      expect(new copy.CapacityError('registry', 1)).toBeInstanceOf(CapacityError);
      expect(new CapacityError('registry', 1)).toBeInstanceOf(copy.CapacityError);
      expect(new copy.CapacityError('registry', 1)).toBeInstanceOf(UpstreamSessionError);
      expect(new CapacityError('registry', 1)).toBeInstanceOf(copy.UpstreamSessionError);
    });

    it('holds for every class, while different subclasses stay apart', async () => {
      const copy = await loadCopy();
      const ours = samples(api);
      const theirs = samples(copy);
      const classes = (module: ErrorsModule | typeof api) =>
        ERROR_NAMES.map((name) => [name, (module as unknown as Record<string, new (...args: never[]) => Error>)[name]!] as const);
      const subclassesOnly = <T,>(entries: [string, T][]) => entries.filter(([name]) => name !== 'UpstreamSessionError');
      for (const [name, sample] of subclassesOnly(Object.entries(theirs))) {
        for (const [other, cls] of classes(api)) {
          const expected = other === 'UpstreamSessionError' || other === name;
          expect(sample.error instanceof cls, `copy ${name} instanceof ${other}`).toBe(expected);
        }
      }
      for (const [name, sample] of subclassesOnly(Object.entries(ours))) {
        for (const [other, cls] of classes(copy)) {
          const expected = other === 'UpstreamSessionError' || other === name;
          expect(sample.error instanceof cls, `${name} instanceof copy ${other}`).toBe(expected);
        }
      }
      expect(theirs.UpstreamSessionError.error).toBeInstanceOf(UpstreamSessionError);
      expect(ours.UpstreamSessionError.error).toBeInstanceOf(copy.UpstreamSessionError);
      // Codes are the same in both copies.
      for (const name of ERROR_NAMES) {
        expect(theirs[name as keyof typeof theirs].error.code).toBe(ours[name as keyof typeof ours].error.code);
      }
    });
  });
});

describe('errors thrown by the registry are the exported classes', () => {
  it('InvalidRequestError, InvalidOptionsError and RegistryClosedError come out with their codes', async () => {
    const { FakeSessionFactory } = await import('../src/testing/index.js');
    expect(() => new api.UpstreamSessionRegistry({ sessionFactory: new FakeSessionFactory(), maxSessions: 0 })).toThrow(
      InvalidOptionsError,
    );
    const registry = new api.UpstreamSessionRegistry({ sessionFactory: new FakeSessionFactory() });
    await expect(registry.acquire({ downstreamSessionId: '', upstreamId: 'u', url: 'http://x/' })).rejects.toBeInstanceOf(
      InvalidRequestError,
    );
    await registry.closeAll();
    await expect(registry.acquire({ downstreamSessionId: 'd', upstreamId: 'u', url: 'http://x/' })).rejects.toMatchObject({
      code: 'REGISTRY_CLOSED',
    });
    await expect(registry.acquire({ downstreamSessionId: 'd', upstreamId: 'u', url: 'http://x/' })).rejects.toBeInstanceOf(
      RegistryClosedError,
    );
    expect(new SessionCreateTimeoutError('u', 1)).not.toBeInstanceOf(SessionEvictedError);
    expect(new NotOwnerError('d', 'w')).not.toBeInstanceOf(InvalidRequestError);
  });
});
