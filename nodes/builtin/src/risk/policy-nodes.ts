/** Portfolio, suitability and policy-rule nodes. */
import type { AnyNodeDefinition } from '@finflow/sdk';
import { portfolioNode } from './portfolio.node.js';
import { profileNode } from './profile.node.js';
import { suitabilityNode } from './suitability.node.js';
import { rulesNode } from './rules.node.js';

export const policyNodes: AnyNodeDefinition[] = [portfolioNode, profileNode, suitabilityNode, rulesNode];
