/** The model nodes, registered through builtinNodes. */
import type { AnyNodeDefinition } from '@finflow/sdk';

export const modelNodes: AnyNodeDefinition[] = [];
