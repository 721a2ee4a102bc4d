import { describe, expect, it } from 'vitest';
import * as index from '../src/index.js';
import * as api from '../src/errors.js';
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
} from '../src/errors.js';
import type * as errorsModule from '../src/errors.js';

// SPEC §7 and STYLE 8: every error the library can hand out extends UpstreamSessionError, carries a stable
// `code`, keeps `cause`, has a useful name and message, is exported, and `instanceof` keeps ordinary subclass
// semantics while working across duplicate copies of the package (brand check).

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
    ProbeTimeoutError: {
      error: new errors.ProbeTimeoutError('tools/list', 5_000),
      code: 'PROBE_TIMEOUT',
      message: /tools\/list.*5000 ms/,
    },
    StoreTimeoutError: { error: new errors.StoreTimeoutError('claim', 5_000), code: 'STORE_TIMEOUT', message: /claim.*5000 ms/ },
    CloseGraceEndedError: { error: new errors.CloseGraceEndedError(5_000), code: 'CLOSE_GRACE_ENDED', message: /5000 ms/ },
  } satisfies Record<string, { error: UpstreamSessionError; code: UpstreamSessionErrorCode; cause?: unknown; message: RegExp }>;
}

const ERROR_NAMES = [
  'CapacityError',
  'CircuitOpenError',
  'CloseGraceEndedError',
  'InvalidOptionsError',
  'InvalidRequestError',
  'NotOwnerError',
  'ProbeTimeoutError',
  'RegistryClosedError',
  'SessionCreateError',
  'SessionCreateTimeoutError',
  'SessionEvictedError',
  'StoreTimeoutError',
  'UpstreamSessionError',
];

/** The exported values of a module that are Error classes. */
function exportedErrorClasses(module: object = api): [string, new (...args: never[]) => Error][] {
  return (Object.entries(module) as [string, unknown][]).filter(
    (entry): entry is [string, new (...args: never[]) => Error] =>
      typeof entry[1] === 'function' && (entry[1] as { prototype?: unknown }).prototype instanceof Error,
  );
}

describe('every exported error class', () => {
  it('is one of the error classes of SPEC §7 (adding one is a deliberate act)', () => {
    expect(exportedErrorClasses().map(([name]) => name).sort()).toEqual(ERROR_NAMES);
    expect(Object.keys(samples(api)).sort()).toEqual(ERROR_NAMES);
  });

  it('is exported from the package entry point, as the same class', () => {
    const fromIndex = new Map(exportedErrorClasses(index));
    for (const [name, cls] of exportedErrorClasses()) expect(fromIndex.get(name), name).toBe(cls);
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

describe('SessionCreateError messages', () => {
  it('cut an ordinary cause message at 300 characters, redacted', () => {
    const error = new SessionCreateError('up', 'connection_refused', new Error(`refused ${'x'.repeat(1_000)}`));
    expect(error.message.length).toBeLessThan(420);
    expect(error.message).toMatch(/…$/);
  });

  it('keep a stdio failure message (the scrubbed stderr tail) whole, still redacting the secrets given', () => {
    const tail = Array.from({ length: 40 }, (_, i) => `stderr line ${i}: token tk-SECRET-${i % 3 === 0 ? 'x' : 'y'}`).join('\n');
    const cause = Object.assign(new Error(`my-server exited with code 1\n${tail}`), {
      [Symbol.for('mcp-upstream-sessions.stdioFailure')]: 'process_exited',
    });
    const error = new SessionCreateError('up', 'process_exited', cause, ['tk-SECRET-x', 'tk-SECRET-y']);
    expect(error.message).toContain('stderr line 39');
    expect(error.message).not.toContain('SECRET');
    expect(new SessionCreateError('up', 'spawn_failed', new Error('y'.repeat(2_000))).message).not.toMatch(/…$/);
  });

  it('redact relative paths with queries and Bearer tokens an upstream echoed back', () => {
    const cause = new Error('401 for POST /mcp?api_key=ak-SECRET-1: token expired: Bearer eyJ-SECRET.x.y');
    const error = new SessionCreateError('up', 'auth_unauthorized', cause);
    expect(error.message).not.toContain('SECRET');
    expect(error.message).toContain('/mcp?api_key=***');
    expect(error.message).toContain('Bearer ***');
    expect(error.cause).toBe(cause);
  });
});

describe('instanceof', () => {
  it('is false between different subclasses and for look-alikes', () => {
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

  it('keeps ordinary subclass semantics: Sub.prototype instanceof UpstreamSessionError', () => {
    for (const [name, cls] of exportedErrorClasses()) {
      if (name === 'UpstreamSessionError') continue;
      expect(cls.prototype instanceof UpstreamSessionError, name).toBe(true);
      expect(cls.prototype instanceof Error, name).toBe(true);
      expect(cls.prototype instanceof CapacityError, name).toBe(false);
    }
    expect(CapacityError.prototype instanceof CapacityError).toBe(false);
    expect(Object.create(CapacityError.prototype) instanceof CapacityError).toBe(true);
  });

  it('a bare UpstreamSessionError that reuses a subclass code is not that subclass', () => {
    expect(new UpstreamSessionError('CAPACITY', 'x')).not.toBeInstanceOf(CapacityError);
    expect(new UpstreamSessionError('CAPACITY', 'x')).toBeInstanceOf(UpstreamSessionError);
  });

  it('works for host subclasses of an error class', () => {
    class HostCapacityError extends CapacityError {}
    const error = new HostCapacityError('upstream', 2, 'x');
    expect(error).toBeInstanceOf(CapacityError);
    expect(error).toBeInstanceOf(UpstreamSessionError);
    expect(error).not.toBeInstanceOf(CircuitOpenError);
    expect(error.name).toBe('HostCapacityError');
    expect(HostCapacityError.prototype instanceof CapacityError).toBe(true);
  });

  it("an error of a host's own subclass is not taken for a library error of the parent class, nor the reverse", () => {
    class HostError extends UpstreamSessionError {
      constructor() {
        super('CAPACITY', 'host-defined');
      }
    }
    class HostCapacityError extends CapacityError {}
    expect(new HostError()).toBeInstanceOf(UpstreamSessionError);
    expect(new HostError()).not.toBeInstanceOf(CapacityError);
    // A plain library error is not an instance of a host's subclass, whatever its code.
    expect(new CapacityError('registry', 1)).not.toBeInstanceOf(HostCapacityError);
    expect(new UpstreamSessionError('CAPACITY', 'x')).not.toBeInstanceOf(HostError);
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

    it("a host subclass is never matched by the other copy's parent instances", async () => {
      const copy = await loadCopy();
      class HostCapacityError extends CapacityError {}
      expect(new copy.CapacityError('registry', 1)).not.toBeInstanceOf(HostCapacityError);
      expect(new HostCapacityError('registry', 1)).toBeInstanceOf(copy.CapacityError);
      expect(new HostCapacityError('registry', 1)).toBeInstanceOf(copy.UpstreamSessionError);
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
      const classes = (module: ErrorsModule) =>
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
    expect(() => new index.UpstreamSessionRegistry({ sessionFactory: new FakeSessionFactory(), maxSessions: 0 })).toThrow(
      InvalidOptionsError,
    );
    const registry = new index.UpstreamSessionRegistry({ sessionFactory: new FakeSessionFactory() });
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
