/** The application shell: resolves the session, then shows the page for the current route. */
import { Loader2 } from 'lucide-react';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ConnectionsPage } from './pages/connections-page.js';
import { EditorPage } from './pages/editor-page.js';
import { EndpointsPage } from './pages/endpoints-page.js';
import { FlowsPage } from './pages/flows-page.js';
import { NoWorkspacePage } from './pages/invitations.js';
import { LoginPage } from './pages/login-page.js';
import { ReviewsPage } from './pages/reviews-page.js';
import { BoardPage } from './pages/board-page.js';
import { RolloutPage } from './pages/rollout-page.js';
import { navigate, parseRoute, useHash } from './router.js';
import { useSessionStore } from './state/session-store.js';

export function App() {
  const { t } = useTranslation();
  const status = useSessionStore((s) => s.status);
  // Pages load their data when they mount: a switch of workspace mounts them again.
  const workspaceId = useSessionStore((s) => s.session?.workspace?.id ?? null);
  const route = parseRoute(useHash());
  const [fatal, setFatal] = useState<string | null>(null);

  useEffect(() => {
    useSessionStore
      .getState()
      .refresh()
      .catch((err: Error) => setFatal(err.message));
  }, []);

  useEffect(() => {
    if (status === 'authenticated' && route.name === 'login') navigate({ name: 'flows' }, true);
  }, [status, route.name]);

  if (status === 'loading') {
    return (
      <div className="splash" aria-busy="true">
        <Loader2 className="spin" size={22} aria-label={t('common.loading')} />
      </div>
    );
  }
  if (status === 'anonymous') {
    return (
      <>
        {fatal && (
          <div className="error-banner" role="alert">
            {fatal}
          </div>
        )}
        <LoginPage />
      </>
    );
  }
  if (workspaceId === null) return <NoWorkspacePage />;
  switch (route.name) {
    case 'flow':
      return (
        <EditorPage
          key={`${workspaceId}/${route.flowId}`}
          flowId={route.flowId}
          {...(route.runId ? { runId: route.runId } : {})}
        />
      );
    case 'endpoints':
      return <EndpointsPage key={workspaceId} />;
    case 'board':
      return <BoardPage key={workspaceId} />;
    case 'rollout':
      return <RolloutPage key={`${workspaceId}:${route.endpointId}`} endpointId={route.endpointId} />;
    case 'reviews':
      return <ReviewsPage key={workspaceId} {...(route.taskId ? { taskId: route.taskId } : {})} />;
    case 'connections':
      return <ConnectionsPage key={workspaceId} />;
    default:
      return <FlowsPage key={workspaceId} />;
  }
}
