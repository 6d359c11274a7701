/** The risk-engine nodes, registered through builtinNodes. */
import type { AnyNodeDefinition } from '@finflow/sdk';
import { scoringNodes } from './scoring-nodes.js';
import { policyNodes } from './policy-nodes.js';

export const riskNodes: AnyNodeDefinition[] = [...scoringNodes, ...policyNodes];
