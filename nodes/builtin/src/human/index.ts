/** Nodes where a person takes part in a run: `human.review` and the shapes of its tasks and decisions. */
import type { AnyNodeDefinition } from '@finflow/sdk';
import { reviewNode } from './review.node.js';

export const humanNodes: AnyNodeDefinition[] = [reviewNode];

export { reviewNode, reviewTask } from './review.node.js';
export * from './review-task.js';
