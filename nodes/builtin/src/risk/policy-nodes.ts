/** Portfolio, suitability and policy-rule nodes. */
import type { AnyNodeDefinition } from '@finflow/sdk';

export const policyNodes: AnyNodeDefinition[] = [];
