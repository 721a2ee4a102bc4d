// Extracts the TypeScript snippets the documentation shows: ```ts blocks of Markdown files and the
// ```ts blocks of TSDoc `@example` tags.

/** One code block and where it came from. */
export interface Snippet {
  /** Repository-relative file the block was found in. */
  readonly file: string;
  /** 1-based line of the block's first code line in `file`. */
  readonly line: number;
  /** The code, without fences (and without the ` * ` comment prefix for TSDoc). */
  readonly code: string;
}

const OPEN = /^\s*```(ts|typescript)\s*$/;
const CLOSE = /^\s*```\s*$/;
const ANY_FENCE = /^\s*```/;

/** Every ```ts / ```typescript block of a Markdown text (other languages are skipped). */
export function markdownSnippets(file: string, text: string): Snippet[] {
  const lines = text.split('\n');
  const snippets: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (!ANY_FENCE.test(line)) continue;
    const isTs = OPEN.test(line);
    const start = i + 1;
    let end = start;
    while (end < lines.length && !CLOSE.test(lines[end] ?? '')) end++;
    if (isTs) snippets.push({ file, line: start + 1, code: lines.slice(start, end).join('\n') });
    i = end;
  }
  return snippets;
}

const COMMENT_PREFIX = /^\s*\*( |$)/;

/** The ```ts block after every `@example` tag in the TSDoc comments of a source text. */
export function tsdocExamples(file: string, text: string): Snippet[] {
  const lines = text.split('\n');
  const snippets: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*\*\s*@example\b/.test(lines[i] ?? '')) continue;
    let open = i + 1;
    while (open < lines.length && !OPEN.test(strip(lines[open] ?? '')) && !/\*\/|@\w/.test(lines[open] ?? '')) open++;
    if (!OPEN.test(strip(lines[open] ?? ''))) continue;
    const code: string[] = [];
    let end = open + 1;
    for (; end < lines.length && !CLOSE.test(strip(lines[end] ?? '')); end++) code.push(strip(lines[end] ?? ''));
    snippets.push({ file, line: open + 2, code: code.join('\n') });
    i = end;
  }
  return snippets;
}

function strip(line: string): string {
  return line.replace(COMMENT_PREFIX, '');
}
