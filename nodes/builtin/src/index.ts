/**
 * @finflow/nodes: the built-in node types. `builtinNodes` is the one registration point; each category keeps
 * its own list beside its nodes.
 */
import { createRegistry, type AnyNodeDefinition, type NodeRegistry } from '@finflow/runtime';
import { inputNode } from './io/input.node.js';
import { outputNode } from './io/output.node.js';
import { branchNode } from './logic/branch.node.js';
import { switchNode } from './logic/switch.node.js';
import { mergeNode } from './logic/merge.node.js';
import { mapNode } from './logic/map.node.js';
import { transformNode } from './data/transform.node.js';
import { templateNode } from './data/template.node.js';
import { modelNodes } from './model/index.js';
import { riskNodes } from './risk/index.js';
import { complianceNodes } from './compliance/index.js';
import { multimodalNodes } from './multimodal/index.js';
import { humanNodes } from './human/index.js';
import { codeNodes } from './code/index.js';

export const coreNodes: AnyNodeDefinition[] = [
  inputNode,
  outputNode,
  branchNode,
  switchNode,
  mergeNode,
  mapNode,
  transformNode,
  templateNode,
];

export const builtinNodes: AnyNodeDefinition[] = [
  ...coreNodes,
  ...modelNodes,
  ...riskNodes,
  ...complianceNodes,
  ...multimodalNodes,
  ...humanNodes,
  ...codeNodes,
];

/** A registry of the built-in nodes plus any plugin nodes. */
export function createBuiltinRegistry(extra: readonly AnyNodeDefinition[] = []): NodeRegistry {
  return createRegistry([...builtinNodes, ...extra]);
}

export { inputNode, outputNode, branchNode, switchNode, mergeNode, mapNode, transformNode, templateNode };
export { renderTemplate, templateVariables } from './data/template.node.js';
export { disposeMultimodal } from './multimodal/index.js';
export {
  decisionProblems,
  reviewDecisionSchema,
  reviewerActions,
  reviewerRoles,
  reviewNode,
  reviewTaskSchema,
  type ReviewDecision,
  type ReviewTask,
} from './human/index.js';
export {
  codeNode,
  SandboxPool,
  defaultCodeSandbox,
  disposeCodeSandbox,
  defaultSandboxLimits,
  CodeErrorCodes,
  codeLanguages,
} from './code/index.js';
export type {
  CodeSandbox,
  CodeRunRequest,
  CodeRunResult,
  SandboxLimits,
  SandboxPoolOptions,
  CodeLanguage,
} from './code/index.js';
export {
  checkConnectionUrl,
  classifyAddress,
  createEgress,
  EgressConfigError,
  parseEgressAllowList,
  type Egress,
  type EgressPolicy,
} from './net/egress.js';
// Federated training and the scorecard maths: `@finflow/nodes/federated` (loaded when first used).
