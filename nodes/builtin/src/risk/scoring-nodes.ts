/** Credit and fraud scoring nodes. */
import type { AnyNodeDefinition } from '@finflow/sdk';

export const scoringNodes: AnyNodeDefinition[] = [];
