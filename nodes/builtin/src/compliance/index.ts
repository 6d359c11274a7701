/** The compliance nodes, registered through builtinNodes. */
import type { AnyNodeDefinition } from '@finflow/sdk';
import { piiDetectNode } from './pii-detect.node.js';
import { piiMaskNode } from './pii-mask.node.js';
import { regulationChecklistNode } from './regulation-checklist.node.js';
import { marketingCheckNode } from './marketing-check.node.js';
import { dpAggregateNode } from './dp-aggregate.node.js';

export const complianceNodes: AnyNodeDefinition[] = [
  piiDetectNode,
  piiMaskNode,
  regulationChecklistNode,
  marketingCheckNode,
  dpAggregateNode,
];

export { piiDetectNode, piiMaskNode, regulationChecklistNode, marketingCheckNode, dpAggregateNode };
export { detectPii, PII_TYPES, type PiiEntity, type PiiType } from './pii/detect.js';
export { maskText, partialMask, pseudonym } from './pii/mask.js';
export { parseRegulation } from './regulation/structure.js';
export { extractChecklist } from './regulation/obligations.js';
