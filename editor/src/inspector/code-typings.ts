/**
 * TypeScript declarations for the code node's editor, generated from the node's ports: `Inputs` and `Outputs`
 * follow the port types (the closed set in @finflow/runtime/ports), `Context` is what the sandbox gives the code,
 * and `defineRun` types an untyped function's parameters and result in JavaScript and TypeScript alike. Monaco's
 * TypeScript worker reads them as an extra library, so completion and type errors follow the ports as they change.
 */
import type { NamedPort, PortType } from '@finflow/runtime/ports';

/** The TypeScript type of a value of each port type (what the port's zod schema accepts). */
export const portTypeScript: Record<PortType, string> = {
  any: 'unknown',
  text: 'string',
  number: 'number',
  boolean: 'boolean',
  record: 'Record<string, unknown>',
  list: 'unknown[]',
  table: 'Record<string, unknown>[]',
  messages: "{ role: 'system' | 'user' | 'assistant' | 'tool'; content: string }[]",
  document: '{ mimeType: string; data?: string; text?: string; name?: string }',
  image: '{ mimeType: string; data: string; name?: string }',
  audio: '{ mimeType: string; data: string; name?: string }',
  decision: '{ outcome: string; reasons?: string[]; [key: string]: unknown }',
  score: '{ value: number; [key: string]: unknown }',
  artifact: '{ kind: string; [key: string]: unknown }',
  error: '{ message: string; code: string; nodeId: string; attempts: number }',
};

const identifier = /^[A-Za-z_$][\w$]*$/;
const key = (name: string) => (identifier.test(name) ? name : JSON.stringify(name));
/** A comment cannot be closed from inside a description. */
const doc = (text: string | undefined, indent: string) =>
  text ? `${indent}/** ${text.replace(/\*\//g, '* /').replace(/\s+/g, ' ').trim()} */\n` : '';

function members(ports: readonly NamedPort[], readonly: boolean): string {
  return ports
    .map(
      (p) =>
        `${doc(p.description ?? p.title, '  ')}  ${readonly ? 'readonly ' : ''}${key(p.name)}${p.required ? '' : '?'}: ${portTypeScript[p.type] ?? 'unknown'};`,
    )
    .join('\n');
}

/** The declarations for a code node with these ports. */
export function codeTypings(inputs: readonly NamedPort[], outputs: readonly NamedPort[]): string {
  return `/** Values on the node's input ports (optional ports may be missing). */
interface Inputs {
${members(inputs, true)}
}

/** What the code returns: one value per output port. */
interface Outputs {
${members(outputs, false)}
}

interface Logger {
  debug(message: string, data?: Record<string, unknown>): void;
  info(message: string, data?: Record<string, unknown>): void;
  warn(message: string, data?: Record<string, unknown>): void;
  error(message: string, data?: Record<string, unknown>): void;
}

/** All the sandbox offers: copies and primitives, no host objects. */
interface Context {
  readonly runId: string;
  readonly nodeId: string;
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** The fixed clock: the moment the node started, in milliseconds (Date.now() reads the same). */
  now(): number;
  /** The seeded random number in [0, 1) (Math.random draws from the same sequence). */
  random(): number;
  /** Lines written to the run's log. */
  readonly log: Logger;
}

/** Types the run function from the node's ports: \`export default defineRun((inputs, ctx) => ({ ... }))\`. */
declare function defineRun(run: (inputs: Inputs, ctx: Context) => Outputs | Promise<Outputs>): typeof run;

/** console writes to the run's log too. */
declare const console: {
  log(...values: unknown[]): void;
  info(...values: unknown[]): void;
  debug(...values: unknown[]): void;
  warn(...values: unknown[]): void;
  error(...values: unknown[]): void;
};
`;
}
