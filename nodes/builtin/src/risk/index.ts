/** The risk nodes, registered through builtinNodes. */
import type { AnyNodeDefinition } from '@finflow/sdk';

export const riskNodes: AnyNodeDefinition[] = [];
