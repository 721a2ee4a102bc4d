// The bounded stderr tail of a stdio child (SPEC §9: at most 64 lines / 8 KiB) and the scrubbing of the
// messages built from it.
import { describe, expect, it } from 'vitest';
import { StdioProcessError } from '../../src/mcp/stdio/failure.js';
import { commandBaseName } from '../../src/request.js';
import { requestSecrets } from '../../src/sanitize.js';
import { STDERR_TAIL_CHARS, STDERR_TAIL_LINES, StderrTail } from '../../src/mcp/stdio/stderr-tail.js';

describe('StderrTail', () => {
  it('reports complete lines across chunks, without line endings', () => {
    const lines: string[] = [];
    const tail = new StderrTail((line) => lines.push(line));
    tail.push('first li');
    tail.push('ne\r\nsecond\nthi');
    expect(lines).toEqual(['first line', 'second']);
    tail.end();
    expect(lines).toEqual(['first line', 'second', 'thi']);
    expect(tail.text()).toBe('first line\nsecond\nthi');
  });

  it('keeps the newest 64 lines', () => {
    const tail = new StderrTail();
    for (let i = 0; i < 1_000; i++) tail.push(`line ${i}\n`);
    const kept = tail.text().split('\n');
    expect(kept).toHaveLength(STDERR_TAIL_LINES);
    expect(kept.at(-1)).toBe('line 999');
  });

  it('keeps at most 8 KiB, also of one endless line', () => {
    const tail = new StderrTail();
    for (let i = 0; i < 100; i++) tail.push(`${'x'.repeat(1_000)}\n`);
    expect(tail.text().length).toBeLessThanOrEqual(STDERR_TAIL_CHARS);
    const endless = new StderrTail();
    for (let i = 0; i < 1_000; i++) endless.push('y'.repeat(1_000));
    expect(endless.text().length).toBe(STDERR_TAIL_CHARS);
  });

  it('survives a throwing line callback', () => {
    const tail = new StderrTail(() => {
      throw new Error('host bug');
    });
    tail.push('a\nb\n');
    expect(tail.text()).toBe('a\nb');
  });
});

describe('failure messages', () => {
  it('show the base name and arg count, and the tail without env values, long args or credentials', () => {
    const secrets = requestSecrets({ env: { TOKEN: 'sk-123456', CODE: '7' }, args: ['--token', 'sk-abcdef', '-v'] });
    const error = new StdioProcessError('process_exited', {
      commandName: commandBaseName('/opt/secret-path/bin/server'),
      argCount: 3,
      stderrTail: 'token=sk-123456 arg=sk-abcdef flag=-v code 7 url=https://u:p@host/x?k=v',
      secrets,
      exit: { exitCode: 1, signalCode: null },
      phase: 'during initialize',
    });
    expect(error.message).toBe(
      'The stdio server `server` (3 args) exited with code 1 during initialize; stderr:\n' +
        'token=*** arg=*** flag=-v code *** url=https://***:***@host/x?k=***',
    );
    expect(commandBaseName('C:\\tools\\srv.exe')).toBe('srv.exe');
  });
});
