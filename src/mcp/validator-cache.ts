// One lazily built JSON-schema validator per upstream (no SDK import; shared by both MCP factories).

/** The SDK's `jsonSchemaValidator` shape: compiles a JSON schema into a validating function. */
export interface SchemaValidatorProvider<V> {
  getValidator(schema: object): V;
}

/** Distinct schemas one upstream's validator may compile before it is rebuilt (Ajv never forgets them). */
const MAX_SCHEMAS_PER_UPSTREAM = 256;

/**
 * A provider for one upstream: builds the real validator (an Ajv instance, ~18 KB) on first use only, and
 * compiles each distinct schema once. Schemas are keyed by their JSON text, because every session's
 * `tools/list` yields fresh schema objects and Ajv caches compiled schemas by object identity: without the
 * key, the shared instance would grow by one compiled schema per tool per session.
 */
class LazyUpstreamValidator<V> implements SchemaValidatorProvider<V> {
  #inner: SchemaValidatorProvider<V> | undefined;
  readonly #compiled = new Map<string, V>();

  constructor(private readonly build: () => SchemaValidatorProvider<V>) {}

  getValidator(schema: object): V {
    const key = JSON.stringify(schema);
    const cached = this.#compiled.get(key);
    if (cached !== undefined) return cached;
    if (this.#compiled.size >= MAX_SCHEMAS_PER_UPSTREAM) {
      // An upstream with ever-changing schemas: start over rather than grow without bound.
      this.#compiled.clear();
      this.#inner = undefined;
    }
    this.#inner ??= this.build();
    const validator = this.#inner.getValidator(schema);
    this.#compiled.set(key, validator);
    return validator;
  }
}

/**
 * One JSON-schema validator per upstream id, each built lazily, never shared across upstreams (a compiled
 * schema of one upstream must not answer for another's `$id`). Instead of one Ajv instance per session
 * (the SDK's default), a factory keeps one of these and passes `forUpstream(request.upstreamId)` as the
 * client's `jsonSchemaValidator`.
 *
 * @example
 * ```ts
 * import { Client } from '@modelcontextprotocol/sdk/client/index.js';
 * import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv-provider.js';
 * import { type jsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/types.js';
 * const validators = new ValidatorCache(() => new AjvJsonSchemaValidator());
 * const info = { name: 'my-gateway', version: '1.0.0' };
 * const client = new Client(info, { jsonSchemaValidator: validators.forUpstream(request.upstreamId) as jsonSchemaValidator });
 * ```
 */
export class ValidatorCache<V> {
  readonly #byUpstream = new Map<string, LazyUpstreamValidator<V>>();

  /** @param build - Makes the real validator; called at most once per upstream (until rebuilt). */
  constructor(private readonly build: () => SchemaValidatorProvider<V>) {}

  /** The validator of `upstreamId`, created (without building anything yet) on first request. */
  forUpstream(upstreamId: string): SchemaValidatorProvider<V> {
    let validator = this.#byUpstream.get(upstreamId);
    if (validator === undefined) {
      validator = new LazyUpstreamValidator(this.build);
      this.#byUpstream.set(upstreamId, validator);
    }
    return validator;
  }
}
