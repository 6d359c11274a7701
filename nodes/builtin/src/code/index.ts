/** The code node and its sandbox. */
import type { AnyNodeDefinition } from '@finflow/runtime';
import { codeNode } from './javascript.node.js';

export const codeNodes: AnyNodeDefinition[] = [codeNode];

export { codeNode, defaultCode } from './javascript.node.js';
export { SandboxPool, defaultCodeSandbox, disposeCodeSandbox, defaultSandboxLimits } from './sandbox-pool.js';
export type { SandboxPoolOptions } from './sandbox-pool.js';
export { CodeErrorCodes, codeLanguages } from './sandbox.js';
export type { CodeSandbox, CodeRunRequest, CodeRunResult, SandboxLimits, CodeLanguage } from './sandbox.js';
