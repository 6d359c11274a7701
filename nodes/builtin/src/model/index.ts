/**
 * The model nodes, registered through builtinNodes. Importing this list loads no LangChain or embedding code:
 * providers, the offline model and the splitters are imported when a node first runs.
 */
import type { AnyNodeDefinition } from '@finflow/sdk';
import { answerNode } from './answer.node.js';
import { chatNode } from './chat.node.js';
import { classifyNode } from './classify.node.js';
import { retrieveNode } from './retrieve.node.js';
import { routeNode } from './route.node.js';
import { structuredNode } from './structured.node.js';
import { trainClassifierNode } from './train-classifier.node.js';

export const modelNodes: AnyNodeDefinition[] = [
  chatNode,
  structuredNode,
  classifyNode,
  trainClassifierNode,
  retrieveNode,
  answerNode,
  routeNode,
];

export { answerNode, chatNode, classifyNode, retrieveNode, routeNode, structuredNode, trainClassifierNode };
export type { ChatModelSpec, EmbeddingsSpec, ModelProvider } from './services.js';
export { OFFLINE_MARKER } from './extractive.js';
