// Type-checks documentation snippets: one TypeScript program over every snippet module, with the repo's
// compiler options.
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import ts from 'typescript';
import { markdownSnippets, tsdocExamples, type Snippet } from './blocks.js';
import { ENTRY_POINTS, moduleExports, snippetModule, type ExportedName } from './prelude.js';

/** A diagnostic, located in the documentation the snippet came from. */
export interface SnippetProblem {
  /** `README.md:123` or `src/registry.ts:45`. */
  readonly location: string;
  readonly message: string;
}

/** What a check found. */
export interface SnippetReport {
  readonly snippets: readonly Snippet[];
  readonly problems: readonly SnippetProblem[];
}

function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) files.push(...sourceFiles(path));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) files.push(path);
  }
  return files.sort();
}

/** Every documented snippet of the repository: README.md's ```ts blocks and the `@example` blocks of src/. */
export function collectSnippets(root: string): Snippet[] {
  const snippets = markdownSnippets('README.md', readFileSync(join(root, 'README.md'), 'utf8'));
  for (const path of sourceFiles(join(root, 'src'))) {
    snippets.push(...tsdocExamples(relative(root, path), readFileSync(path, 'utf8')));
  }
  return snippets;
}

function compilerOptions(root: string): ts.CompilerOptions {
  const parsed = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.json'), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    },
  });
  if (parsed === undefined) throw new Error('tsconfig.json could not be read');
  return { ...parsed.options, noEmit: true, declaration: false, sourceMap: false, incremental: false };
}

/** In an `@example` of `src/x/y.ts`, `'./z.js'` means `src/x/z.js`: point it there from `.tmp/snippets/`. */
function resolveRelativeImports(code: string, file: string): string {
  return code.replace(/(from\s+|import\()(['"])(\.\.?\/[^'"]+)\2/g, (_match, keyword: string, quote: string, path: string) => {
    return `${keyword}${quote}../../${posix.join(dirname(file), path)}${quote}`;
  });
}

/** Writes every snippet as its own module under `<root>/.tmp/snippets/` and type-checks them in one program. */
export function checkSnippets(root: string): SnippetReport {
  const snippets = collectSnippets(root);
  const exports: ExportedName[] = ENTRY_POINTS.flatMap(([, source]) =>
    moduleExports(source, readFileSync(join(root, source), 'utf8')),
  );
  const dir = join(root, '.tmp', 'snippets');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const byFile = new Map<string, { snippet: Snippet; preludeLines: number }>();
  snippets.forEach((snippet, index) => {
    const name = `${String(index).padStart(3, '0')}-${snippet.file.replace(/[^A-Za-z0-9]+/g, '_')}-${snippet.line}.ts`;
    // An example in src/ may also use its own module's exports (first listed wins, so those come first).
    const own = snippet.file.startsWith('src/') ? moduleExports(snippet.file, readFileSync(join(root, snippet.file), 'utf8')) : [];
    const code = snippet.file.startsWith('src/') ? resolveRelativeImports(snippet.code, snippet.file) : snippet.code;
    const module = snippetModule(code, [...own, ...exports], '../..');
    const path = join(dir, name);
    writeFileSync(path, module.text);
    byFile.set(path, { snippet, preludeLines: module.preludeLines });
  });
  const program = ts.createProgram([...byFile.keys()], compilerOptions(root));
  const problems: SnippetProblem[] = program.getGlobalDiagnostics().map((d) => ({
    location: 'compiler',
    message: ts.flattenDiagnosticMessageText(d.messageText, '\n'),
  }));
  for (const [path, { snippet, preludeLines }] of byFile) {
    const file = program.getSourceFile(path);
    if (file === undefined) {
      problems.push({ location: `${snippet.file}:${snippet.line}`, message: 'snippet module was not compiled' });
      continue;
    }
    for (const diagnostic of [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)]) {
      const at = diagnostic.start === undefined ? 0 : file.getLineAndCharacterOfPosition(diagnostic.start).line;
      const line = at < preludeLines ? snippet.line : snippet.line + at - preludeLines;
      problems.push({
        location: `${snippet.file}:${line}`,
        message: ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'),
      });
    }
  }
  return { snippets, problems };
}
