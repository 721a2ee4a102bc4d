import { describe, expect, it } from 'vitest';
import { ValidatorCache, type SchemaValidatorProvider } from '../../src/mcp/validator-cache.js';

class CountingProvider implements SchemaValidatorProvider<string> {
  static built = 0;
  compiled = 0;
  constructor() {
    CountingProvider.built += 1;
  }
  getValidator(schema: object): string {
    this.compiled += 1;
    return `validator for ${JSON.stringify(schema)}`;
  }
}

describe('the validator cache', () => {
  it('builds nothing until a schema needs validating', () => {
    CountingProvider.built = 0;
    const cache = new ValidatorCache(() => new CountingProvider());
    cache.forUpstream('a');
    cache.forUpstream('b');
    expect(CountingProvider.built).toBe(0);
  });

  it('builds one validator per upstream, shared by its sessions, and never across upstreams', () => {
    CountingProvider.built = 0;
    const cache = new ValidatorCache(() => new CountingProvider());
    const schema = { type: 'object' };

    cache.forUpstream('a').getValidator(schema);
    cache.forUpstream('a').getValidator({ type: 'object' });
    expect(CountingProvider.built).toBe(1);
    expect(cache.forUpstream('a')).toBe(cache.forUpstream('a'));
    expect(cache.forUpstream('b')).not.toBe(cache.forUpstream('a'));
    cache.forUpstream('b').getValidator(schema);
    expect(CountingProvider.built).toBe(2);
  });

  it('compiles equal schemas once, whatever object each session’s tools/list produced', () => {
    let provider: CountingProvider | undefined;
    const cache = new ValidatorCache(() => (provider = new CountingProvider()));
    const upstream = cache.forUpstream('a');
    for (let session = 0; session < 50; session++) upstream.getValidator({ type: 'object', properties: { n: { type: 'number' } } });
    expect(provider?.compiled).toBe(1);
  });

  it('stays bounded for an upstream whose schemas keep changing', () => {
    CountingProvider.built = 0;
    const cache = new ValidatorCache(() => new CountingProvider());
    const upstream = cache.forUpstream('a');
    for (let i = 0; i < 1_000; i++) expect(upstream.getValidator({ const: i })).toBe(`validator for {"const":${i}}`);
    expect(CountingProvider.built).toBeGreaterThan(1);
  });
});
