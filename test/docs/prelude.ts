// Turns a snippet into a module that compiles on its own: the package's specifiers point at the src/ entry
// files, and a prelude imports every public export and declares the few free names snippets use, unless
// the snippet binds that name itself.
import ts from 'typescript';

/** The package's entry points and the source file each one is built from. */
export const ENTRY_POINTS: readonly (readonly [specifier: string, source: string])[] = [
  ['mcp-upstream-sessions', 'src/index.ts'],
  ['mcp-upstream-sessions/testing', 'src/testing/index.ts'],
  ['mcp-upstream-sessions/redis', 'src/redis/index.ts'],
  ['mcp-upstream-sessions/sdk-v2', 'src/mcp/v2/index.ts'],
  ['mcp-upstream-sessions/otel', 'src/otel/index.ts'],
];

/** One exported name of an entry point. */
export interface ExportedName {
  readonly name: string;
  readonly typeOnly: boolean;
  /** The entry's source file, repository-relative. */
  readonly source: string;
}

function isExported(statement: ts.Statement): boolean {
  return ts.canHaveModifiers(statement) && (ts.getModifiers(statement) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
}

/**
 * The named exports of a module: `export { … }` lists (what entry files consist of) and exported
 * declarations (so an `@example` in a file can use that file's own exports).
 */
export function moduleExports(source: string, text: string): ExportedName[] {
  const file = ts.createSourceFile(source, text, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
  const names: ExportedName[] = [];
  for (const statement of file.statements) {
    if (ts.isExportDeclaration(statement)) {
      if (statement.exportClause === undefined || !ts.isNamedExports(statement.exportClause)) continue;
      for (const element of statement.exportClause.elements) {
        names.push({ name: element.name.text, typeOnly: statement.isTypeOnly || element.isTypeOnly, source });
      }
    } else if (isExported(statement)) {
      if (ts.isVariableStatement(statement)) {
        for (const declaration of statement.declarationList.declarations) {
          if (ts.isIdentifier(declaration.name)) names.push({ name: declaration.name.text, typeOnly: false, source });
        }
      } else if ((ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement) || ts.isEnumDeclaration(statement)) && statement.name) {
        names.push({ name: statement.name.text, typeOnly: false, source });
      } else if (ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement)) {
        names.push({ name: statement.name.text, typeOnly: true, source });
      }
    }
  }
  return names;
}

/**
 * Free names snippets use without defining them, each with a precise type. A declaration is added only when
 * the snippet does not bind the name itself.
 */
const FREE_NAMES: readonly (readonly [name: string, declaration: string])[] = [
  ['registry', 'declare const registry: UpstreamSessionRegistry;'],
  ['request', 'declare const request: SessionRequest;'],
  ['req', "declare const req: import('node:http').IncomingMessage;"],
  ['res', "declare const res: import('node:http').ServerResponse;"],
  ['downstreamSessionId', 'declare const downstreamSessionId: string;'],
  ['userId', 'declare const userId: string;'],
  ['token', 'declare const token: string;'],
  ['url', 'declare const url: string;'],
  ['q', 'declare const q: string;'],
  ['log', 'declare const log: Logger;'],
  ['sessionFactory', 'declare const sessionFactory: FakeSessionFactory;'],
  ['meterProvider', "declare const meterProvider: import('@opentelemetry/api').MeterProvider;"],
  ['tracerProvider', "declare const tracerProvider: import('@opentelemetry/api').TracerProvider;"],
  ['metrics', 'declare const metrics: { increment(name: string, labels?: Readonly<Record<string, string>>): void };'],
  [
    'relayToDownstream',
    'declare function relayToDownstream(downstreamSessionId: string, request: McpServerRequest, signal: AbortSignal): Promise<unknown>;',
  ],
  ['clock', 'declare const clock: ManualClock;'],
  ['factory', 'declare const factory: FakeSessionFactory;'],
  ['connection', 'declare const connection: FakeConnection;'],
  ['client', 'declare const client: FakeUpstreamClient;'],
  ['lease', 'declare const lease: SessionLease<FakeUpstreamClient>;'],
  ['signal', 'declare const signal: AbortSignal;'],
  ['error', 'declare const error: unknown;'],
  ['store', 'declare const store: InMemoryAffinityStore;'],
  ['child', "declare const child: import('node:child_process').ChildProcessWithoutNullStreams;"],
  ['myWorkerId', 'declare const myWorkerId: string;'],
  ['forwardTo', 'declare function forwardTo(owner: string, request?: Request): Promise<Response>;'],
  ['serveLocally', 'declare function serveLocally(downstreamSessionId: string, request: Request): Promise<Response>;'],
];

/** Vitest names a test snippet may use without importing them. */
const TEST_NAMES = ['describe', 'expect', 'it'] as const;

/** The names a module binds at its top level (imports and declarations). */
export function boundNames(code: string): Set<string> {
  const file = ts.createSourceFile('snippet.ts', code, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
  const names = new Set<string>();
  const bindName = (name: ts.BindingName): void => {
    if (ts.isIdentifier(name)) names.add(name.text);
    else for (const element of name.elements) if (!ts.isOmittedExpression(element)) bindName(element.name);
  };
  for (const statement of file.statements) {
    if (ts.isImportDeclaration(statement)) {
      const clause = statement.importClause;
      if (clause?.name !== undefined) names.add(clause.name.text);
      const bindings = clause?.namedBindings;
      if (bindings !== undefined && ts.isNamespaceImport(bindings)) names.add(bindings.name.text);
      if (bindings !== undefined && ts.isNamedImports(bindings)) for (const el of bindings.elements) names.add(el.name.text);
    } else if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) bindName(declaration.name);
    } else if (
      (ts.isFunctionDeclaration(statement) ||
        ts.isClassDeclaration(statement) ||
        ts.isInterfaceDeclaration(statement) ||
        ts.isTypeAliasDeclaration(statement) ||
        ts.isEnumDeclaration(statement)) &&
      statement.name !== undefined
    ) {
      names.add(statement.name.text);
    }
  }
  return names;
}

/** Points the package's own specifiers at the entry source files, relative to a module in `depth` folders. */
export function rewriteSpecifiers(code: string, toRoot: string): string {
  return code.replace(/(['"])(mcp-upstream-sessions(?:\/[a-z0-9-]+)?)\1/g, (match, quote: string, specifier: string) => {
    const entry = ENTRY_POINTS.find(([name]) => name === specifier);
    return entry === undefined ? match : `${quote}${toRoot}/${entry[1].replace(/\.ts$/, '.js')}${quote}`;
  });
}

/** A compilable module: the prelude, then the snippet. `preludeLines` maps diagnostics back to the snippet. */
export interface SnippetModule {
  readonly text: string;
  readonly preludeLines: number;
}

/** Builds the module for one snippet. `exports` are every entry's public names, first entry wins. */
export function snippetModule(code: string, exports: readonly ExportedName[], toRoot: string): SnippetModule {
  const bound = boundNames(code);
  const bySource = new Map<string, string[]>();
  const seen = new Set<string>();
  for (const exported of exports) {
    if (bound.has(exported.name) || seen.has(exported.name)) continue;
    seen.add(exported.name);
    const list = bySource.get(exported.source) ?? [];
    list.push(exported.typeOnly ? `type ${exported.name}` : exported.name);
    bySource.set(exported.source, list);
  }
  const lines: string[] = [];
  for (const [source, names] of bySource) {
    lines.push(`import { ${names.join(', ')} } from '${toRoot}/${source.replace(/\.ts$/, '.js')}';`);
  }
  const testNames = TEST_NAMES.filter((name) => !bound.has(name));
  if (testNames.length > 0) lines.push(`import { ${testNames.join(', ')} } from 'vitest';`);
  for (const [name, declaration] of FREE_NAMES) if (!bound.has(name)) lines.push(declaration);
  lines.push('export {};');
  return { text: `${lines.join('\n')}\n${rewriteSpecifiers(code, toRoot)}\n`, preludeLines: lines.length };
}
