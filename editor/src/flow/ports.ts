/**
 * The ports of a node in the editor: the catalog entry's declared ports plus those derived from the node's config
 * (switch cases, template variables, input-schema fields), computed with the shared `resolvePorts` and cached per
 * config object so hundreds of nodes do not recompute on every render.
 */
import { resolvePorts, type NamedPort } from '@finflow/runtime/ports';
import type { CatalogEntry, FlowNode } from '../api/types.js';

export interface NodePorts {
  inputs: NamedPort[];
  outputs: NamedPort[];
}

const EMPTY: NodePorts = { inputs: [], outputs: [] };
const cache = new WeakMap<object, WeakMap<CatalogEntry, { route: boolean; ports: NodePorts }>>();

export function nodePorts(
  entry: CatalogEntry | undefined,
  node: Pick<FlowNode, 'config' | 'onError'>,
): NodePorts {
  if (!entry) return EMPTY;
  const route = node.onError?.action === 'route';
  const config = node.config ?? {};
  let perEntry = cache.get(config);
  const hit = perEntry?.get(entry);
  if (hit && hit.route === route) return hit.ports;
  const ports = resolvePorts(entry, config, { routeErrors: route });
  if (!perEntry) {
    perEntry = new WeakMap();
    cache.set(config, perEntry);
  }
  perEntry.set(entry, { route, ports });
  return ports;
}
