import { describe, expect, it } from 'vitest';
import { eraKey } from '../../src/eras/key.js';

const url = 'https://user:pa55word@mcp.example.com/mcp?api_key=sekrit-123';

describe('era verdict keys', () => {
  it('are SHA-256 hex over (url, principal) and never contain the url or a credential', () => {
    const key = eraKey({ transport: 'streamable-http', url }, { principal: 'tenant-42', authorization: 'Bearer tok-abcdef' });
    expect(key).toMatch(/^[0-9a-f]{64}$/u);
    for (const secret of ['pa55word', 'sekrit-123', 'mcp.example.com', 'tenant-42', 'tok-abcdef']) expect(key).not.toContain(secret);
  });

  it('are pure: the same inputs give the same key', () => {
    expect(eraKey({ transport: 'streamable-http', url }, { principal: 'p' })).toBe(eraKey({ transport: 'streamable-http', url }, { principal: 'p' }));
  });

  it('partition by principal, else by the authorization header, else share the anonymous key', () => {
    const target = { transport: 'streamable-http', url } as const;
    const keys = new Set([
      eraKey(target, { principal: 'alice' }),
      eraKey(target, { principal: 'bob' }),
      eraKey(target, { authorization: 'Bearer a' }),
      eraKey(target, { authorization: 'Bearer b' }),
      eraKey(target, {}),
    ]);
    expect(keys.size).toBe(5);
    // The principal wins over the header: rotating tokens of one principal share a verdict.
    expect(eraKey(target, { principal: 'alice', authorization: 'Bearer 1' })).toBe(eraKey(target, { principal: 'alice', authorization: 'Bearer 2' }));
    // A principal equal to some header value is still another identity.
    expect(eraKey(target, { principal: 'Bearer a' })).not.toBe(eraKey(target, { authorization: 'Bearer a' }));
  });

  it('treat sse and streamable-http at one url as one server, and stdio by command line', () => {
    expect(eraKey({ transport: 'sse', url }, {})).toBe(eraKey({ transport: 'streamable-http', url }, {}));
    const a = eraKey({ transport: 'stdio', command: 'node', args: ['server.js'] }, {});
    expect(a).not.toBe(eraKey({ transport: 'stdio', command: 'node', args: ['server.js', '--x'] }, {}));
    expect(a).not.toBe(eraKey({ transport: 'stdio', command: 'node', args: ['server.js'], cwd: '/srv' }, {}));
    expect(eraKey({ transport: 'stdio', command: 'node', args: ['a b'] }, {})).not.toBe(eraKey({ transport: 'stdio', command: 'node', args: ['a', 'b'] }, {}));
  });
});
