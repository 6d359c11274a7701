/**
 * Monaco, bundled locally (no CDN): the editor core with its workers, JSON with schema-aware validation, and two
 * languages of our own: JSONata (expressions between nodes) and prompt templates with `{{ variable }}` hints.
 * Loaded lazily the first time a code field is shown: Monaco and its workers are several megabytes.
 */
import { loader } from '@monaco-editor/react';
import * as monaco from 'monaco-editor';
import EditorWorker from 'monaco-editor/editor/editor.worker?worker';
import JsonWorker from 'monaco-editor/language/json/json.worker?worker';
import TsWorker from 'monaco-editor/language/typescript/ts.worker?worker';

declare global {
  interface Window {
    MonacoEnvironment?: { getWorker(workerId: string, label: string): Worker };
  }
}

self.MonacoEnvironment = {
  getWorker(_id: string, label: string) {
    if (label === 'json') return new JsonWorker();
    if (label === 'typescript' || label === 'javascript') return new TsWorker();
    return new EditorWorker();
  },
};

loader.config({ monaco });

/**
 * The code node's declarations (Inputs, Outputs, Context from its ports) as an extra library of the TypeScript
 * worker, for JavaScript and TypeScript models alike. One code editor is open at a time, so one library is kept
 * and replaced when the ports change. The worker type-checks without eval (it runs the bundled TypeScript
 * compiler as ordinary script), so the CSP's `script-src 'self'` stays as it is.
 */
let codeLibs: { dispose(): void }[] = [];
export function setCodeTypings(typings: string | undefined): void {
  for (const lib of codeLibs) lib.dispose();
  codeLibs = [];
  if (!typings) return;
  const path = 'file:///finflow/code-node.d.ts';
  codeLibs = [
    monaco.typescript.typescriptDefaults.addExtraLib(typings, path),
    monaco.typescript.javascriptDefaults.addExtraLib(typings, path),
  ];
}

/** Completion hints per editor model (the variables a prompt can use, the ids an expression can read). */
export const hintsByModel = new Map<string, { label: string; insert: string; detail?: string }[]>();

const jsonataFunctions = [
  'sum',
  'count',
  'max',
  'min',
  'average',
  'string',
  'substring',
  'substringBefore',
  'substringAfter',
  'lowercase',
  'uppercase',
  'length',
  'trim',
  'pad',
  'contains',
  'split',
  'join',
  'match',
  'replace',
  'number',
  'abs',
  'floor',
  'ceil',
  'round',
  'power',
  'sqrt',
  'boolean',
  'not',
  'exists',
  'map',
  'filter',
  'reduce',
  'sort',
  'reverse',
  'append',
  'keys',
  'lookup',
  'merge',
  'distinct',
  'now',
  'millis',
  'toMillis',
  'fromMillis',
  'formatNumber',
  'type',
];

let registered = false;

export function registerLanguages(): typeof monaco {
  if (registered) return monaco;
  registered = true;

  monaco.languages.register({ id: 'jsonata' });
  monaco.languages.setMonarchTokensProvider('jsonata', {
    keywords: ['and', 'or', 'in', 'true', 'false', 'null', 'function'],
    tokenizer: {
      root: [
        [/\/\*/, 'comment', '@comment'],
        [/\$[A-Za-z_]\w*/, 'variable.predefined'],
        [/[A-Za-z_]\w*/, { cases: { '@keywords': 'keyword', '@default': 'identifier' } }],
        [/"([^"\\]|\\.)*"/, 'string'],
        [/'([^'\\]|\\.)*'/, 'string'],
        [/`[^`]*`/, 'identifier'],
        [/\d+(\.\d+)?([eE][-+]?\d+)?/, 'number'],
        [/[{}()[\]]/, '@brackets'],
        [/[=<>!]=?|[-+*/%&?:~^.]|:=/, 'operator'],
      ],
      comment: [
        [/\*\//, 'comment', '@pop'],
        [/./, 'comment'],
      ],
    },
  });
  monaco.languages.setLanguageConfiguration('jsonata', {
    brackets: [
      ['{', '}'],
      ['[', ']'],
      ['(', ')'],
    ],
    autoClosingPairs: [
      { open: '{', close: '}' },
      { open: '[', close: ']' },
      { open: '(', close: ')' },
      { open: '"', close: '"' },
      { open: "'", close: "'" },
    ],
  });
  monaco.languages.registerCompletionItemProvider('jsonata', {
    triggerCharacters: ['$', '.'],
    provideCompletionItems(model, position) {
      const word = model.getWordUntilPosition(position);
      const range = new monaco.Range(
        position.lineNumber,
        word.startColumn,
        position.lineNumber,
        word.endColumn,
      );
      const fns = jsonataFunctions.map((f) => ({
        label: `$${f}`,
        kind: monaco.languages.CompletionItemKind.Function,
        insertText: `${f}($0)`,
        insertTextRules: monaco.languages.CompletionItemInsertTextRule.InsertAsSnippet,
        range,
      }));
      const hints = (hintsByModel.get(model.uri.toString()) ?? []).map((h) => ({
        label: h.label,
        kind: monaco.languages.CompletionItemKind.Variable,
        insertText: h.insert,
        detail: h.detail ?? '',
        range,
      }));
      return { suggestions: [...hints, ...fns] };
    },
  });

  monaco.languages.register({ id: 'prompt' });
  monaco.languages.setMonarchTokensProvider('prompt', {
    tokenizer: {
      root: [
        [/\\\{\{/, 'string.escape'],
        [/\{\{\s*[A-Za-z_][\w-]*(\.[\w-]+)*\s*\}\}/, 'variable'],
        [/\{\{[^}]*\}?\}?/, 'invalid'],
        [/^#+ .*$/, 'keyword'],
        [/./, ''],
      ],
    },
  });
  monaco.languages.registerCompletionItemProvider('prompt', {
    triggerCharacters: ['{'],
    provideCompletionItems(model, position) {
      const line = model.getLineContent(position.lineNumber).slice(0, position.column - 1);
      const open = /\{\{\s*([\w.-]*)$/.exec(line);
      const word = model.getWordUntilPosition(position);
      const range = new monaco.Range(
        position.lineNumber,
        word.startColumn,
        position.lineNumber,
        word.endColumn,
      );
      const hints = hintsByModel.get(model.uri.toString()) ?? [];
      return {
        suggestions: hints.map((h) => ({
          label: h.label,
          kind: monaco.languages.CompletionItemKind.Variable,
          insertText: open ? `${h.insert} }}` : `{{ ${h.insert} }}`,
          detail: h.detail ?? '',
          range,
        })),
      };
    },
  });

  // The sandbox is plain ECMAScript: no DOM, no Node. The library list says so, so `fetch`, `setTimeout` or
  // `window` are flagged as they are written rather than failing at run time. JavaScript is checked too.
  const compilerOptions = {
    target: monaco.typescript.ScriptTarget.ES2020,
    module: monaco.typescript.ModuleKind.ESNext,
    lib: ['es2022'],
    strict: true,
    noEmit: true,
    allowJs: true,
    checkJs: true,
    allowNonTsExtensions: true,
  };
  monaco.typescript.typescriptDefaults.setCompilerOptions(compilerOptions);
  monaco.typescript.javascriptDefaults.setCompilerOptions(compilerOptions);

  monaco.editor.defineTheme('finflow', {
    base: 'vs',
    inherit: true,
    rules: [
      { token: 'variable', foreground: '1d4ed8', fontStyle: 'bold' },
      { token: 'variable.predefined', foreground: '7c3aed' },
      { token: 'invalid', foreground: 'b91c1c', fontStyle: 'underline' },
      { token: 'keyword', foreground: '0f766e', fontStyle: 'bold' },
    ],
    colors: { 'editor.background': '#fbfcfe', 'editorLineNumber.foreground': '#9aa5b4' },
  });
  return monaco;
}
