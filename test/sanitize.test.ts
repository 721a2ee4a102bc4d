import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { INVALID_URL_PLACEHOLDER, redactUrlsInText, sanitizeUrl } from '../src/sanitize.js';

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
