/**
 * A small hash router: `#/flows`, `#/flows/<id>`, `#/flows/<id>/runs/<runId>`, `#/endpoints`, `#/endpoints/<id>/rollout`,
 * `#/rollouts` (the board across workspaces), `#/reviews`,
 * `#/reviews/<taskId>`, `#/connections`, `#/login`. Hash routes work under any path the server mounts the editor at,
 * with no server-side fallback needed.
 */
import { useSyncExternalStore } from 'react';

export type Route =
  | { name: 'login' }
  | { name: 'flows' }
  | { name: 'flow'; flowId: string; runId?: string }
  | { name: 'endpoints' }
  | { name: 'rollout'; endpointId: string }
  | { name: 'board' }
  | { name: 'reviews'; taskId?: string }
  | { name: 'connections' };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'login') return { name: 'login' };
  if (parts[0] === 'endpoints' && parts[1] && parts[2] === 'rollout')
    return { name: 'rollout', endpointId: parts[1] };
  if (parts[0] === 'endpoints') return { name: 'endpoints' };
  if (parts[0] === 'rollouts') return { name: 'board' };
  if (parts[0] === 'reviews') return parts[1] ? { name: 'reviews', taskId: parts[1] } : { name: 'reviews' };
  if (parts[0] === 'connections') return { name: 'connections' };
  if (parts[0] === 'flows' && parts[1]) {
    return parts[2] === 'runs' && parts[3]
      ? { name: 'flow', flowId: parts[1], runId: parts[3] }
      : { name: 'flow', flowId: parts[1] };
  }
  return { name: 'flows' };
}

export function href(route: Route): string {
  switch (route.name) {
    case 'login':
      return '#/login';
    case 'flows':
      return '#/flows';
    case 'endpoints':
      return '#/endpoints';
    case 'board':
      return '#/rollouts';
    case 'rollout':
      return `#/endpoints/${encodeURIComponent(route.endpointId)}/rollout`;
    case 'reviews':
      return route.taskId ? `#/reviews/${encodeURIComponent(route.taskId)}` : '#/reviews';
    case 'connections':
      return '#/connections';
    case 'flow':
      return route.runId
        ? `#/flows/${encodeURIComponent(route.flowId)}/runs/${encodeURIComponent(route.runId)}`
        : `#/flows/${encodeURIComponent(route.flowId)}`;
  }
}

export function navigate(route: Route, replace = false): void {
  const target = href(route);
  if (location.hash === target) return;
  if (replace) history.replaceState(null, '', target);
  else history.pushState(null, '', target);
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}

function subscribe(cb: () => void) {
  window.addEventListener('hashchange', cb);
  window.addEventListener('popstate', cb);
  return () => {
    window.removeEventListener('hashchange', cb);
    window.removeEventListener('popstate', cb);
  };
}

export function useHash(): string {
  return useSyncExternalStore(subscribe, () => location.hash);
}
