/**
 * A Monaco editor for one field: JSONata expressions, prompts, code, JSON and JSON Schema, with syntax highlighting
 * and completion hints. Loaded lazily (see monaco-setup.ts); until then the field is a plain text area.
 */
import Editor, { type OnMount } from '@monaco-editor/react';
import { useEffect, useRef } from 'react';
import { hintsByModel, registerLanguages, setCodeTypings } from './monaco-setup.js';

registerLanguages();

export interface CodeEditorProps {
  value: string;
  onChange: (value: string) => void;
  language: 'jsonata' | 'prompt' | 'json' | 'javascript' | 'typescript' | 'plaintext';
  height?: number;
  ariaLabel: string;
  hints?: { label: string; insert: string; detail?: string }[];
  readOnly?: boolean;
  /** JSON Schema for `json` values (validation and completion inside the editor). */
  jsonSchema?: Record<string, unknown>;
  /** TypeScript declarations the code is checked against (the code node's ports). */
  typings?: string;
}

export default function CodeEditor(props: CodeEditorProps) {
  const modelUri = useRef<string | null>(null);
  const hints = props.hints;
  const typings = props.typings;
  useEffect(() => {
    if (typings === undefined) return;
    setCodeTypings(typings);
    return () => setCodeTypings(undefined);
  }, [typings]);
  useEffect(() => {
    if (modelUri.current && hints) hintsByModel.set(modelUri.current, hints);
  }, [hints]);
  useEffect(
    () => () => {
      if (modelUri.current) hintsByModel.delete(modelUri.current);
    },
    [],
  );
  const onMount: OnMount = (editor) => {
    const uri = editor.getModel()?.uri.toString() ?? null;
    modelUri.current = uri;
    if (uri && hints) hintsByModel.set(uri, hints);
    editor.getDomNode()?.setAttribute('data-language', props.language);
    const ta = editor.getDomNode()?.querySelector('textarea');
    ta?.setAttribute('aria-label', props.ariaLabel);
  };
  return (
    <div className="code-editor" style={{ height: props.height ?? 120 }} data-testid="code-editor">
      <Editor
        value={props.value}
        language={props.language}
        theme="finflow"
        onMount={onMount}
        onChange={(v) => props.onChange(v ?? '')}
        options={{
          minimap: { enabled: false },
          lineNumbers: props.language === 'prompt' || props.language === 'jsonata' ? 'off' : 'on',
          wordWrap: 'on',
          scrollBeyondLastLine: false,
          fontSize: 12.5,
          tabSize: 2,
          readOnly: !!props.readOnly,
          automaticLayout: true,
          renderLineHighlight: 'none',
          folding:
            props.language === 'json' || props.language === 'javascript' || props.language === 'typescript',
          glyphMargin: false,
          lineDecorationsWidth: 6,
          overviewRulerLanes: 0,
          scrollbar: { verticalScrollbarSize: 8, horizontalScrollbarSize: 8 },
          fixedOverflowWidgets: true,
          ariaLabel: props.ariaLabel,
        }}
      />
    </div>
  );
}
