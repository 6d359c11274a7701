import { resolvePorts, portTypes, type NamedPort } from '@finflow/runtime/ports';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { codeTypings, portTypeScript } from './code-typings.js';

/** The standard library's files, parsed once for every check. */
const libCache = new Map<string, ts.SourceFile | undefined>();

/** Type-checks `code` with the typings as Monaco's worker would (ES2022, no DOM), returning the error messages. */
function check(
  typings: string,
  code: string,
  language: 'typescript' | 'javascript' = 'typescript',
): string[] {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    lib: ['lib.es2022.d.ts'],
    strict: true,
    noEmit: true,
    allowJs: true,
    checkJs: true,
    types: [],
  };
  const files: Record<string, string> = {
    '/finflow/code-node.d.ts': typings,
    [`/code.${language === 'typescript' ? 'ts' : 'js'}`]: code,
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, target, ...rest) => {
    if (name in files) return ts.createSourceFile(name, files[name]!, target);
    if (!libCache.has(name)) libCache.set(name, getSourceFile(name, target, ...rest));
    return libCache.get(name);
  };
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name in files || fileExists(name);
  const program = ts.createProgram(Object.keys(files), options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

const inputs: NamedPort[] = [
  { name: 'amount', type: 'number', required: true, description: 'in EUR */ injected' },
  { name: 'rows', type: 'table', required: false },
  { name: 'case-id', type: 'text', required: true },
];
const outputs: NamedPort[] = [
  { name: 'fee', type: 'number', required: true },
  { name: 'decision', type: 'decision', required: false },
];

describe('code node typings', () => {
  const typings = codeTypings(inputs, outputs);

  it('declares every port with its type and requiredness, quoting names that are not identifiers', () => {
    expect(typings).toContain('  readonly amount: number;');
    expect(typings).toContain('  readonly rows?: Record<string, unknown>[];');
    expect(typings).toContain('  readonly "case-id": string;');
    expect(typings).toContain(
      '  decision?: { outcome: string; reasons?: string[]; [key: string]: unknown };',
    );
    // A description cannot end the comment and inject declarations.
    expect(typings).toContain('/** in EUR * / injected */');
    expect(Object.keys(portTypeScript).sort()).toEqual([...portTypes].sort());
  });

  it('accepts code that uses the ports as declared, in TypeScript and in JavaScript', () => {
    const code = `export default defineRun((inputs, ctx) => {
      const big = (inputs.rows ?? []).filter((r) => Number(r['amount']) > inputs.amount);
      ctx.log.info('checked', { big: big.length, at: ctx.now(), r: ctx.random() });
      console.log(inputs['case-id'].toUpperCase());
      return { fee: inputs.amount * 0.01, decision: { outcome: big.length ? 'review' : 'pass' } };
    });`;
    expect(check(typings, code)).toEqual([]);
    expect(check(typings, code, 'javascript')).toEqual([]);
  });

  it('flags wrong types, missing outputs, unknown ports and host APIs the sandbox does not have', () => {
    const errors = check(
      typings,
      `export default defineRun(async (inputs) => {
        const s: string = inputs.amount;
        inputs.amount = 2;
        await fetch('https://example.com');
        setTimeout(() => {}, 10);
        return { decision: { outcome: 1 }, extra: inputs.nope };
      });`,
    );
    expect(errors.join('\n')).toMatch(/Type 'number' is not assignable to type 'string'/);
    expect(errors.join('\n')).toMatch(/Cannot assign to 'amount' because it is a read-only property/);
    expect(errors.join('\n')).toMatch(/Cannot find name 'fetch'/);
    expect(errors.join('\n')).toMatch(/Cannot find name 'setTimeout'/);
    expect(errors.join('\n')).toMatch(/Property 'nope' does not exist on type 'Inputs'/);
    expect(errors.join('\n')).toMatch(
      /Property 'fee' is missing|'fee' is declared here|Type 'number' is not assignable to type 'string'/,
    );
    // JavaScript is checked too (checkJs): the result must match the outputs.
    expect(
      check(typings, 'export default defineRun((inputs) => ({ fee: "12" }));', 'javascript').join('\n'),
    ).toMatch(/Type 'string' is not assignable to type 'number'/);
  });

  it('follows the ports a code node declares in its config', () => {
    const layout = {
      inputs: [],
      outputs: [],
      dynamicInputs: {
        path: 'inputs',
        mode: 'items' as const,
        typeKey: 'type',
        requiredKey: 'required',
        type: 'any' as const,
      },
      dynamicOutputs: {
        path: 'outputs',
        mode: 'items' as const,
        typeKey: 'type',
        requiredKey: 'required',
        type: 'any' as const,
      },
    };
    const ports = resolvePorts(layout, {
      inputs: [{ name: 'text', type: 'text' }],
      outputs: [{ name: 'words', type: 'number' }],
    });
    const t = codeTypings(ports.inputs, ports.outputs);
    expect(check(t, 'export default defineRun(({ text }) => ({ words: text.split(" ").length }));')).toEqual(
      [],
    );
    expect(check(t, 'export default defineRun(({ text }) => ({ words: text }));')).not.toEqual([]);
  });
});
