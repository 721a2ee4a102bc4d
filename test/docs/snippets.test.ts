import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkSnippets } from './check.js';
import { markdownSnippets, tsdocExamples } from './blocks.js';
import { ENTRY_POINTS, moduleExports, snippetModule } from './prelude.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('documentation snippets', () => {
  it('finds ```ts blocks in Markdown and skips other languages', () => {
    const text = ['# T', '```ts', 'const a = 1;', '```', '```sh', 'npm test', '```', '```ts', 'const b = 2;', '```'].join('\n');
    expect(markdownSnippets('X.md', text)).toEqual([
      { file: 'X.md', line: 3, code: 'const a = 1;' },
      { file: 'X.md', line: 9, code: 'const b = 2;' },
    ]);
  });

  it('finds the ```ts block of every TSDoc @example', () => {
    const text = ['/**', ' * Does it.', ' * @example', ' * ```ts', ' * doIt();', ' *', ' * done();', ' * ```', ' */'].join('\n');
    expect(tsdocExamples('src/x.ts', text)).toEqual([{ file: 'src/x.ts', line: 5, code: 'doIt();\n\ndone();' }]);
  });

  it('imports public names and declares free names only when the snippet does not bind them', () => {
    const exports = [
      { name: 'UpstreamSessionRegistry', typeOnly: false, source: 'src/index.ts' },
      { name: 'SessionRequest', typeOnly: true, source: 'src/index.ts' },
    ];
    const module = snippetModule("import { UpstreamSessionRegistry } from 'mcp-upstream-sessions';\nconst registry = 1;", exports, '../..');
    expect(module.text).toContain("import { type SessionRequest } from '../../src/index.js';");
    expect(module.text).toContain("from '../../src/index.js';\nconst registry = 1;");
    expect(module.text).not.toContain('declare const registry');
    expect(module.text).toContain('declare const request: SessionRequest;');
  });

  it('every ```ts block of README.md and every @example of src/ type-checks', () => {
    const { snippets, problems } = checkSnippets(root);
    expect(snippets.filter((s) => s.file === 'README.md').length).toBeGreaterThan(10);
    expect(snippets.filter((s) => s.file.startsWith('src/')).length).toBeGreaterThan(50);
    const report = problems.map((p) => `${p.location}: ${p.message}`).join('\n');
    expect(report, `snippets that do not type-check (snippet modules in .tmp/snippets/):\n${report}`).toBe('');
  }, 60_000);

  it('the README names every export of every entry point', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const missing = ENTRY_POINTS.flatMap(([specifier, source]) =>
      moduleExports(source, readFileSync(join(root, source), 'utf8'))
        .filter(({ name }) => !readme.includes(`\`${name}\``) && !readme.includes(`\`${name}(`))
        .map(({ name }) => `${specifier}: ${name}`),
    );
    expect(missing).toEqual([]);
  });
});
