/**
 * The architecture, checked (STYLE 16): the import graph of `src/` is acyclic (type imports included), each
 * third-party runtime lives behind its own entry point (an MCP SDK only under `src/mcp/`, OpenTelemetry only
 * under `src/otel/`, ioredis only under `src/redis/`), and on the built output `dist/testing.js` and
 * `dist/redis.js` never reach an MCP SDK module (a fresh `dist/`, or a private build when `dist/` is stale).
 * Every failure names the file and the import that break it.
 */

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src');
/** The built output the dist checks read: `dist/` when fresh, else a private build (see {@link builtOutput}). */
let DIST = join(ROOT, 'dist');

/** One import edge of a source file. */
interface Edge {
  /** The specifier as written. */
  readonly specifier: string;
  /** `import type …`, `export type …`, `import('x').T` in a type, or every named binding type-only. */
  readonly typeOnly: boolean;
  /** `import('…')` at run time. */
  readonly dynamic: boolean;
  /** 1-based line, for the report. */
  readonly line: number;
}

function walk(dir: string, accept: (file: string) => boolean): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(path, accept));
    else if (accept(path)) out.push(path);
  }
  return out.sort();
}

/** Every import and re-export of one TypeScript file, parsed with the TypeScript API. */
function importsOf(file: string): Edge[] {
  const text = readFileSync(file, 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const edges: Edge[] = [];
  const line = (node: ts.Node): number => source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const bindings = clause?.namedBindings;
      const allNamedTypeOnly =
        clause !== undefined &&
        clause.name === undefined &&
        bindings !== undefined &&
        ts.isNamedImports(bindings) &&
        bindings.elements.length > 0 &&
        bindings.elements.every((element) => element.isTypeOnly);
      edges.push({
        specifier: node.moduleSpecifier.text,
        typeOnly: clause?.isTypeOnly === true || allNamedTypeOnly,
        dynamic: false,
        line: line(node),
      });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.exportClause;
      const allNamedTypeOnly =
        clause !== undefined && ts.isNamedExports(clause) && clause.elements.length > 0 && clause.elements.every((e) => e.isTypeOnly);
      edges.push({
        specifier: node.moduleSpecifier.text,
        typeOnly: node.isTypeOnly || allNamedTypeOnly,
        dynamic: false,
        line: line(node),
      });
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] !== undefined &&
      ts.isStringLiteralLike(node.arguments[0])
    ) {
      edges.push({ specifier: node.arguments[0].text, typeOnly: false, dynamic: true, line: line(node) });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      edges.push({ specifier: node.argument.literal.text, typeOnly: true, dynamic: false, line: line(node) });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return edges;
}

/** The `src/` file a relative specifier names (`./x.js` → `x.ts`, `./dir/index.js` → `dir/index.ts`). */
function resolveLocal(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const base = resolve(dirname(from), specifier);
  const candidates = [base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')];
  return candidates.find((candidate) => existsSync(candidate) && statSync(candidate).isFile());
}

const rel = (file: string): string => relative(ROOT, file).split(sep).join('/');

/** The `src/` import graph: file → the local files it imports (any kind of import). */
interface Graph {
  readonly files: readonly string[];
  readonly edges: ReadonlyMap<string, readonly { to: string; edge: Edge }[]>;
  readonly external: ReadonlyMap<string, readonly Edge[]>;
  readonly unresolved: readonly string[];
}

function buildGraph(): Graph {
  const files = walk(SRC, (file) => file.endsWith('.ts') && !file.endsWith('.d.ts'));
  const edges = new Map<string, { to: string; edge: Edge }[]>();
  const external = new Map<string, Edge[]>();
  const unresolved: string[] = [];
  for (const file of files) {
    const local: { to: string; edge: Edge }[] = [];
    const outside: Edge[] = [];
    for (const edge of importsOf(file)) {
      if (edge.specifier.startsWith('.')) {
        const to = resolveLocal(file, edge.specifier);
        if (to === undefined) unresolved.push(`${rel(file)}:${edge.line} imports '${edge.specifier}', which is not a file in src/`);
        else local.push({ to, edge });
      } else {
        outside.push(edge);
      }
    }
    edges.set(file, local);
    external.set(file, outside);
  }
  return { files, edges, external, unresolved };
}

/**
 * Cycles found by a depth-first search, each as the list of files around it (first repeated last). With
 * `runtimeOnly`, type-only edges are ignored (the stricter check includes them).
 */
function findCycles(graph: Graph, runtimeOnly = false): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'visiting');
    stack.push(file);
    for (const { to, edge } of graph.edges.get(file) ?? []) {
      if (runtimeOnly && edge.typeOnly) continue;
      const seen = state.get(to);
      if (seen === 'visiting') cycles.push([...stack.slice(stack.indexOf(to)), to]);
      else if (seen === undefined) visit(to);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.files) if (!state.has(file)) visit(file);
  return cycles;
}

function describeCycle(graph: Graph, cycle: string[]): string {
  const steps: string[] = [];
  for (let i = 0; i + 1 < cycle.length; i++) {
    const from = cycle[i]!;
    const to = cycle[i + 1]!;
    const edge = graph.edges.get(from)?.find((e) => e.to === to)?.edge;
    steps.push(`${rel(from)}:${edge?.line ?? '?'} ${edge?.typeOnly === true ? 'imports type from' : 'imports'} ${rel(to)}`);
  }
  return steps.join('\n    → ');
}

/** Which `src/` folder may import a package at run time. */
const RUNTIME_HOMES: readonly { readonly pattern: RegExp; readonly home: string; readonly what: string }[] = [
  { pattern: /^@modelcontextprotocol\//, home: 'src/mcp/', what: 'an MCP SDK' },
  { pattern: /^@opentelemetry\//, home: 'src/otel/', what: 'OpenTelemetry' },
  { pattern: /^ioredis(?:\/|$)/, home: 'src/redis/', what: 'ioredis' },
];

/** Every local file `entry` reaches through runtime (not type-only) imports, with the path that reaches it. */
function runtimeClosure(graph: Graph, entry: string): Map<string, string> {
  const reached = new Map<string, string>([[entry, rel(entry)]]);
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.shift()!;
    for (const { to, edge } of graph.edges.get(file) ?? []) {
      if (edge.typeOnly || reached.has(to)) continue;
      reached.set(to, `${reached.get(file)!} → ${rel(to)}`);
      queue.push(to);
    }
  }
  return reached;
}

describe('the src/ import graph', () => {
  const graph = buildGraph();

  it('resolves every relative import to a file in src/', () => {
    expect(graph.unresolved).toEqual([]);
  });

  it('is acyclic, runtime imports only', () => {
    const cycles = findCycles(graph, true).map((cycle) => describeCycle(graph, cycle));
    expect(cycles, `runtime import cycles:\n  ${cycles.join('\n  ')}`).toEqual([]);
  });

  it('is acyclic, type imports included (a cycle is reported edge by edge)', () => {
    const cycles = findCycles(graph).map((cycle) => describeCycle(graph, cycle));
    expect(cycles, `import cycles:\n  ${cycles.join('\n  ')}`).toEqual([]);
  });

  for (const { pattern, home, what } of RUNTIME_HOMES) {
    it(`imports ${what} at run time only under ${home}`, () => {
      const offenders: string[] = [];
      for (const [file, edges] of graph.external) {
        if (rel(file).startsWith(home)) continue;
        for (const edge of edges) {
          if (pattern.test(edge.specifier) && !edge.typeOnly) {
            offenders.push(`${rel(file)}:${edge.line} imports '${edge.specifier}'${edge.dynamic ? ' (dynamic import)' : ''}`);
          }
        }
      }
      expect(offenders, `${what} imported outside ${home}:\n  ${offenders.join('\n  ')}`).toEqual([]);
    });
  }

  for (const entry of ['testing/index.ts', 'redis/index.ts']) {
    it(`src/${entry} never reaches src/mcp/ through runtime imports`, () => {
      const reached = [...runtimeClosure(graph, join(SRC, entry))].filter(([file]) => rel(file).startsWith('src/mcp/'));
      expect(reached.map(([, path]) => path), `src/${entry} reaches the SDK adapters:\n  ${reached.map(([, p]) => p).join('\n  ')}`).toEqual(
        [],
      );
    });
  }

  it('keeps every file in src/ under ~400 lines (at most 450)', () => {
    const long = graph.files
      .map((file) => [rel(file), readFileSync(file, 'utf8').split('\n').length] as const)
      .filter(([, lines]) => lines > 450)
      .map(([file, lines]) => `${file}: ${lines} lines`);
    expect(long, `files over 450 lines:\n  ${long.join('\n  ')}`).toEqual([]);
  });

  it('keeps src/types.ts a leaf: it imports nothing', () => {
    const types = join(SRC, 'types.ts');
    if (!existsSync(types)) return;
    expect(importsOf(types).map((edge) => edge.specifier)).toEqual([]);
  });

  it('finds a cycle when there is one (the checker itself works)', () => {
    const a = join(SRC, 'a.ts');
    const b = join(SRC, 'b.ts');
    const edge: Edge = { specifier: './b.js', typeOnly: true, dynamic: false, line: 1 };
    const fake: Graph = {
      files: [a, b],
      edges: new Map([
        [a, [{ to: b, edge }]],
        [b, [{ to: a, edge: { ...edge, specifier: './a.js', typeOnly: false } }]],
      ]),
      external: new Map(),
      unresolved: [],
    };
    const cycles = findCycles(fake);
    expect(cycles).toHaveLength(1);
    expect(describeCycle(fake, cycles[0]!)).toBe('src/a.ts:1 imports type from src/b.ts\n    → src/b.ts:1 imports src/a.ts');
    expect(findCycles(fake, true)).toEqual([]);
  });
});

/** Newest modification time under `dir` (files accepted by `accept`). */
function newest(dir: string, accept: (file: string) => boolean): number {
  let max = 0;
  for (const file of walk(dir, accept)) max = Math.max(max, statSync(file).mtimeMs);
  return max;
}

const ENTRY_FILES = ['index.js', 'testing.js', 'redis.js'] as const;

/**
 * Points {@link DIST} at the output to check: `dist/` when it is there and newer than `src/` and the build
 * config (CI builds first), else a private build with the project's tsup config into a temporary directory — so
 * a stale or missing `dist/` is never checked, and this test never rewrites the `dist/` other tests may be
 * reading. Returns a cleanup function.
 */
function builtOutput(): () => void {
  const dist = join(ROOT, 'dist');
  const sourcesAt = Math.max(
    newest(SRC, (file) => file.endsWith('.ts')),
    statSync(join(ROOT, 'tsup.config.ts')).mtimeMs,
    statSync(join(ROOT, 'package.json')).mtimeMs,
  );
  const stale = ENTRY_FILES.some((name) => {
    const file = join(dist, name);
    return !existsSync(file) || statSync(file).mtimeMs < sourcesAt;
  });
  if (!stale) {
    DIST = dist;
    return () => undefined;
  }
  const out = mkdtempSync(join(tmpdir(), 'mcp-upstream-sessions-arch-'));
  execFileSync('npx', ['tsup', '--out-dir', out, '--no-dts', '--no-sourcemap'], { cwd: ROOT, stdio: 'pipe', timeout: 120_000 });
  DIST = out;
  return () => rmSync(out, { recursive: true, force: true });
}

/** Static and dynamic specifiers of one built ESM file. */
function builtImports(file: string): { specifier: string; dynamic: boolean }[] {
  const text = readFileSync(file, 'utf8');
  const out: { specifier: string; dynamic: boolean }[] = [];
  for (const match of text.matchAll(/(?:^|[;\s}])(?:import|export)\s*(?:[\w*{}\s,$]*?\s*from\s*)?["']([^"']+)["']/g)) {
    out.push({ specifier: match[1]!, dynamic: false });
  }
  for (const match of text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)) out.push({ specifier: match[1]!, dynamic: true });
  return out;
}

/** Every bare package the built entry point can reach through its chunks, with the path that reaches it. */
function reachablePackages(entry: string): Map<string, string> {
  const found = new Map<string, string>();
  const seen = new Set<string>();
  const queue: { file: string; path: string }[] = [{ file: join(DIST, entry), path: entry }];
  while (queue.length > 0) {
    const { file, path } = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const { specifier, dynamic } of builtImports(file)) {
      const via = `${path} ${dynamic ? '⇢ import()' : '→'} ${specifier}`;
      if (specifier.startsWith('.')) queue.push({ file: resolve(dirname(file), specifier), path: via });
      else if (!found.has(specifier)) found.set(specifier, via);
    }
  }
  return found;
}

describe('the built output (dist/)', () => {
  let cleanup: () => void = () => undefined;
  beforeAll(() => {
    cleanup = builtOutput();
  }, 180_000);
  afterAll(() => {
    cleanup();
  });

  for (const entry of ['testing.js', 'redis.js'] as const) {
    it(`dist/${entry} never reaches an MCP SDK module, statically or through import()`, () => {
      const sdk = [...reachablePackages(entry)].filter(([specifier]) => specifier.startsWith('@modelcontextprotocol/'));
      expect(sdk.map(([, path]) => path), `dist/${entry} reaches the SDK:\n  ${sdk.map(([, p]) => p).join('\n  ')}`).toEqual([]);
    });
  }

  it('dist/index.js reaches the SDK only through import() (loaded when the default factory creates a session)', () => {
    const sdk = [...reachablePackages('index.js')].filter(([specifier]) => specifier.startsWith('@modelcontextprotocol/'));
    const eager = sdk.filter(([, path]) => !path.includes('import()'));
    expect(eager.map(([, path]) => path), `dist/index.js loads the SDK eagerly:\n  ${eager.map(([, p]) => p).join('\n  ')}`).toEqual([]);
  });

  it('the reachability check sees the packages an entry point really imports, through chunks and import()', () => {
    const fromIndex = reachablePackages('index.js');
    expect([...fromIndex.keys()]).toContain('eventemitter3');
    const lazy = [...fromIndex].filter(([specifier]) => specifier.startsWith('@modelcontextprotocol/sdk'));
    expect(lazy.length).toBeGreaterThan(0);
    for (const [, path] of lazy) expect(path).toContain('import()');
  });
});
