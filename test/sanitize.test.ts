import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  INVALID_URL_PLACEHOLDER,
  redactCredentialsInText,
  redactText,
  redactUrlsInText,
  requestSecrets,
  sanitizeUrl,
  scrubSecrets,
} from '../src/sanitize.js';

describe('sanitizeUrl', () => {
  it('replaces userinfo', () => {
    expect(sanitizeUrl('https://alice:s3cret@mcp.example.com/mcp')).toBe('https://***:***@mcp.example.com/mcp');
    expect(sanitizeUrl('https://token-only@mcp.example.com/mcp')).toBe('https://***@mcp.example.com/mcp');
    expect(sanitizeUrl('https://:pw-only@mcp.example.com/mcp')).toBe('https://***:***@mcp.example.com/mcp');
  });

  it('replaces every query value and keeps the names', () => {
    expect(sanitizeUrl('https://mcp.example.com/mcp?api_key=abc123&region=eu&empty=')).toBe(
      'https://mcp.example.com/mcp?api_key=***&region=***&empty=***',
    );
    expect(sanitizeUrl('https://h/p?a=1&a=2')).toBe('https://h/p?a=***&a=***');
    expect(sanitizeUrl('https://h/p?key=a%26b%3Dc&x=1')).toBe('https://h/p?key=***&x=***');
  });

  it('redacts a bare query segment whole: it may be a token rather than a name', () => {
    expect(sanitizeUrl('https://h/p?sk-abc123')).toBe('https://h/p?***');
    expect(sanitizeUrl('https://h/p?a=1&&sk-abc123')).toBe('https://h/p?a=***&***');
  });

  it('drops the fragment and an empty query', () => {
    expect(sanitizeUrl('https://h/p#access_token=abc')).toBe('https://h/p');
    expect(sanitizeUrl('https://h/p?#x')).toBe('https://h/p');
    expect(sanitizeUrl('https://h/p?&')).toBe('https://h/p');
  });

  it('keeps scheme, host, port and path', () => {
    expect(sanitizeUrl('http://127.0.0.1:8080/mcp/v1')).toBe('http://127.0.0.1:8080/mcp/v1');
    expect(sanitizeUrl('wss://user:pw@[::1]:9000/socket?t=1')).toBe('wss://***:***@[::1]:9000/socket?t=***');
    expect(sanitizeUrl('file:///srv/mcp.sock')).toBe('file:///srv/mcp.sock');
  });

  it('keeps only the scheme of an opaque URL', () => {
    expect(sanitizeUrl('mailto:alice@example.com')).toBe('mailto:***');
    expect(sanitizeUrl('data:text/plain,secret')).toBe('data:***');
  });

  it('never echoes input that is not a URL', () => {
    for (const input of ['', 'not a url', 'mcp.example.com/mcp?token=abc', 'http://', 'http://[::1', 'https://u:p@/x']) {
      expect(sanitizeUrl(input), input).toBe(INVALID_URL_PLACEHOLDER);
    }
    expect(INVALID_URL_PLACEHOLDER).toBe('[invalid url]');
  });

  it('never lets a password or query value through (property)', () => {
    const secret = fc.stringMatching(/^[A-Za-z0-9]{12,24}$/).map((s) => `S3CR3T${s}`);
    const name = fc.stringMatching(/^[a-z][a-z_]{0,10}$/);
    fc.assert(
      fc.property(secret, secret, fc.array(fc.tuple(name, secret), { maxLength: 5 }), (user, password, params) => {
        const query = params.map(([n, v]) => `${n}=${v}`).join('&');
        const url = `https://${user}:${password}@up.example.com:8443/mcp${query === '' ? '' : `?${query}`}#${password}`;
        const out = sanitizeUrl(url);
        expect(out).not.toContain('S3CR3T');
        for (const [n] of params) expect(out).toContain(`${n}=***`);
        expect(out.startsWith('https://***:***@up.example.com:8443/mcp')).toBe(true);
      }),
    );
  });

  it('is idempotent', () => {
    const once = sanitizeUrl('https://a:b@h/p?x=1&y#z');
    expect(sanitizeUrl(once)).toBe(once);
  });
});

describe('redactUrlsInText', () => {
  it('sanitizes every URL embedded in free text and leaves the rest alone', () => {
    const text =
      'Streamable HTTP error: POST https://alice:pw@up.example/mcp?token=abc failed; retried ws://h:1/s?k=v and gave up';
    expect(redactUrlsInText(text)).toBe(
      'Streamable HTTP error: POST https://***:***@up.example/mcp?token=*** failed; retried ws://h:1/s?k=*** and gave up',
    );
  });

  it('keeps sentence punctuation outside the URL', () => {
    expect(redactUrlsInText('See https://h/p?token=abc.')).toBe('See https://h/p?token=***.');
    expect(redactUrlsInText('(at https://h/p?token=abc), then')).toBe('(at https://h/p?token=***), then');
  });

  it('stops at quotes and angle brackets, as in JSON and markup', () => {
    expect(redactUrlsInText('{"url":"https://h/p?token=abc","n":1}')).toBe('{"url":"https://h/p?token=***","n":1}');
    expect(redactUrlsInText('<https://u:p@h/>')).toBe('<https://***:***@h/>');
  });

  it('covers other schemes too, so connection strings in upstream messages do not leak', () => {
    expect(redactUrlsInText('cache at redis://:hunter2@cache:6379/0 is down')).toBe('cache at redis://***:***@cache:6379/0 is down');
    expect(redactUrlsInText('ftp://h/p?token=abc')).toBe('ftp://h/p?token=***');
  });

  it('matches schemes case-insensitively', () => {
    expect(redactUrlsInText('HTTPS://H/p?token=abc')).toBe('https://h/p?token=***');
  });

  it('replaces an embedded URL that does not parse instead of echoing it', () => {
    expect(redactUrlsInText('bad http://[::1/x?token=abc here')).toBe(`bad ${INVALID_URL_PLACEHOLDER} here`);
  });

  it('returns text without URLs unchanged', () => {
    expect(redactUrlsInText('Session not found')).toBe('Session not found');
    expect(redactUrlsInText('')).toBe('');
  });
});

describe('redactUrlsInText: relative paths with queries', () => {
  it('redacts query values of a path an upstream echoes back, keeping the names', () => {
    expect(redactUrlsInText('Cannot POST /mcp?api_key=ak-123&region=eu')).toBe('Cannot POST /mcp?api_key=***&region=***');
    expect(redactUrlsInText('GET /v1/mcp?sk-live-abc HTTP/1.1')).toBe('GET /v1/mcp?*** HTTP/1.1');
    expect(redactUrlsInText('{"path":"/mcp?token=abc#frag"}')).toBe('{"path":"/mcp?token=***"}');
    expect(redactUrlsInText('(at /mcp?token=abc).')).toBe('(at /mcp?token=***).');
  });

  it('leaves paths without a query, and words with question marks, alone', () => {
    expect(redactUrlsInText('POST /mcp failed')).toBe('POST /mcp failed');
    expect(redactUrlsInText('Is the session gone? Try again')).toBe('Is the session gone? Try again');
  });

  it('never lets a query value of a relative path through (property)', () => {
    const secret = fc.stringMatching(/^[A-Za-z0-9]{8,16}$/).map((v) => `S3CR3T${v}`);
    const name = fc.stringMatching(/^[a-z][a-z_]{0,10}$/);
    fc.assert(
      fc.property(fc.array(fc.tuple(name, secret), { minLength: 1, maxLength: 4 }), (params) => {
        const text = `upstream said: Cannot POST /mcp?${params.map(([n, v]) => `${n}=${v}`).join('&')} (404)`;
        expect(redactUrlsInText(text)).not.toContain('S3CR3T');
      }),
    );
  });
});

describe('redactCredentialsInText', () => {
  it('redacts Bearer and Basic credentials, keeping the scheme', () => {
    expect(redactCredentialsInText('token expired: Bearer eyJhbGciOi.x.y')).toBe('token expired: Bearer ***');
    expect(redactCredentialsInText('authorization: bearer abc123')).toBe('authorization: bearer ***');
    expect(redactCredentialsInText('Basic dXNlcjpwYXNz= rejected')).toBe('Basic *** rejected');
  });

  it('leaves ordinary words alone', () => {
    expect(redactCredentialsInText('the token expired')).toBe('the token expired');
  });
});

describe('scrubSecrets', () => {
  it('replaces every occurrence of each secret, longest first', () => {
    expect(scrubSecrets('key sk-live-123 and sk-live-123-extra', ['sk-live-123', 'sk-live-123-extra'])).toBe('key *** and ***');
  });

  it('replaces a short secret only where it stands alone', () => {
    expect(scrubSecrets('tenant eu in queue', ['eu'])).toBe('tenant *** in queue');
    expect(scrubSecrets('after 30000 ms', ['0'])).toBe('after 30000 ms');
  });

  it('ignores empty secrets and treats regex characters literally', () => {
    expect(scrubSecrets('a.b*c', ['', '.b*'])).toBe('a.b*c');
    expect(scrubSecrets('x a.b*c y', ['a.b*c'])).toBe('x *** y');
  });
});

describe('requestSecrets', () => {
  it('lists every header value, the credential of an auth header, every env value and long args', () => {
    expect(
      requestSecrets({
        headers: { authorization: 'Bearer tok-123456', 'x-tenant': 'eu' },
        env: { API_KEY: 'sk-abcdef' },
        args: ['-y', '--tls', '--api-key=sk-ghijkl'],
      }),
    ).toEqual(['Bearer tok-123456', 'tok-123456', 'eu', 'sk-abcdef', '--api-key=sk-ghijkl', 'sk-ghijkl']);
  });

  it('accepts a request with none of those fields', () => {
    expect(requestSecrets({})).toEqual([]);
  });
});

describe('redactText', () => {
  it('scrubs secrets, URLs, relative paths with queries and credentials in one pass', () => {
    expect(
      redactText('bad key sk-123456 at /mcp?api_key=sk-123456 and https://u:p@h/x, Bearer abcdef', ['sk-123456']),
    ).toBe('bad key *** at /mcp?api_key=*** and https://***:***@h/x, Bearer ***');
  });
});
