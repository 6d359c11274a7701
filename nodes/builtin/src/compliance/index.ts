/** The compliance nodes, registered through builtinNodes. */
import type { AnyNodeDefinition } from '@finflow/sdk';

export const complianceNodes: AnyNodeDefinition[] = [];
