/**
 * The code sandbox as the code node sees it: a service that runs user code with limits and returns plain data.
 * The server injects one (`services.codeSandbox`) built with its configured ceilings; without one, the node
 * uses a default pool with the default ceilings (the CLI, tests).
 */
import type { LogLevel } from '@finflow/runtime';

export const codeLanguages = ['javascript', 'typescript'] as const;
export type CodeLanguage = (typeof codeLanguages)[number];

/** Error codes of the code node. The first group is the user's code; the second, the sandbox itself. */
export const CodeErrorCodes = {
  /** The code does not parse (JavaScript or TypeScript syntax). */
  COMPILE_ERROR: 'CODE_COMPILE_ERROR',
  /** The code threw; details carry the line and column in the user's source. */
  ERROR: 'CODE_ERROR',
  /** The module exports no function to run. */
  NO_FUNCTION: 'CODE_NO_FUNCTION',
  /** The code tried to import a module. */
  IMPORT_DENIED: 'CODE_IMPORT_DENIED',
  CPU_LIMIT: 'CODE_CPU_LIMIT',
  MEMORY_LIMIT: 'CODE_MEMORY_LIMIT',
  /** Still pending after its wall-clock limit: waiting on a promise nothing settles. */
  TIME_LIMIT: 'CODE_TIME_LIMIT',
  INPUT_TOO_LARGE: 'CODE_INPUT_TOO_LARGE',
  OUTPUT_TOO_LARGE: 'CODE_OUTPUT_TOO_LARGE',
  /** The outputs are not JSON data (a BigInt, a cycle, nesting too deep, a `__proto__` key, not an object). */
  OUTPUT_NOT_DATA: 'CODE_OUTPUT_NOT_DATA',
  /** The sandbox process died during the run (it is restarted for the next one). */
  SANDBOX_CRASHED: 'SANDBOX_CRASHED',
  /** No sandbox process could be started (isolated-vm missing or failing). */
  SANDBOX_UNAVAILABLE: 'SANDBOX_UNAVAILABLE',
} as const;

/** Failures that the same code and inputs would repeat: retrying them only burns the limits again. */
export const codeNonRetryable: readonly string[] = [
  CodeErrorCodes.COMPILE_ERROR,
  CodeErrorCodes.ERROR,
  CodeErrorCodes.NO_FUNCTION,
  CodeErrorCodes.IMPORT_DENIED,
  CodeErrorCodes.CPU_LIMIT,
  CodeErrorCodes.MEMORY_LIMIT,
  CodeErrorCodes.TIME_LIMIT,
  CodeErrorCodes.INPUT_TOO_LARGE,
  CodeErrorCodes.OUTPUT_TOO_LARGE,
  CodeErrorCodes.OUTPUT_NOT_DATA,
];

export interface CodeRunRequest {
  language: CodeLanguage;
  /** An ES module whose default export (or `run` export) is `(inputs, ctx) => outputs`. */
  code: string;
  /** Plain data, copied into the sandbox as JSON. */
  inputs: Record<string, unknown>;
  /** Asked-for limits; the sandbox lowers them to its ceilings. */
  memoryMb: number;
  cpuMs: number;
  /** What the code's clock reads for the whole run (milliseconds since the epoch). */
  now: number;
  /** Seed of the code's `Math.random` and `ctx.random`. */
  seed: number;
  meta: { runId: string; nodeId: string; attempt: number };
  signal?: AbortSignal;
  onLog?: (level: LogLevel, message: string, data?: Record<string, unknown>) => void;
}

export interface CodeRunResult {
  outputs: Record<string, unknown>;
  /** CPU time the isolate used (module evaluation and the call). */
  cpuMs: number;
  wallMs: number;
  /** The limits the run had after the ceilings were applied. */
  limits: { memoryMb: number; cpuMs: number };
}

/** Server-wide ceilings and sizes of a sandbox pool. */
export interface SandboxLimits {
  /** Highest memory limit of one isolate, in MB. */
  maxMemoryMb: number;
  /** Highest CPU-time limit of one run, in ms. */
  maxCpuMs: number;
  /** Largest input and output, each, as JSON bytes. */
  maxDataBytes: number;
  /** Log lines kept per run, and their total size. */
  maxLogs: number;
  maxLogBytes: number;
}

export interface CodeSandbox {
  readonly limits: SandboxLimits;
  /** Runs code; throws NodeError with a code from CodeErrorCodes (or CANCELLED) when it does not succeed. */
  run(request: CodeRunRequest): Promise<CodeRunResult>;
  dispose(): Promise<void>;
}

declare module '@finflow/runtime' {
  interface Services {
    /** Where the code node runs user code; a default pool when absent. */
    codeSandbox?: CodeSandbox;
  }
}
