/** The multimodal nodes, registered through builtinNodes. */
import type { AnyNodeDefinition } from '@finflow/sdk';

export const multimodalNodes: AnyNodeDefinition[] = [];
