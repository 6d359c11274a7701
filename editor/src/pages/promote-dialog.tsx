/**
 * Promoting a flow into another workspace: choose a workspace where the user is a developer or admin, map every
 * connection and credential the flow's versions name to one of that workspace's own (nothing is copied: the
 * target's are used), and promote. The server refuses an incomplete mapping saying what is missing; the dialog
 * shows that as it is. The promoted flow has no endpoint there; a link opens it in its workspace.
 */
import type { PromotionNeeds } from '@finflow/contract';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api/client.js';
import type { Role, Workspace } from '../api/types.js';
import { errorText } from '../i18n/errors.js';
import { navigate } from '../router.js';
import { useSessionStore } from '../state/session-store.js';
import { Dialog } from '../ui/dialog.js';
import { ErrorBox } from '../ui/error-box.js';

const promoters: readonly Role[] = ['admin', 'developer'];

/** A target name with the same name (and kind) as the source's, when the target has one. */
function guess(name: string, kind: string | null, offered: readonly { name: string; kind?: string }[]) {
  return (
    offered.find((o) => o.name === name && (kind === null || o.kind === undefined || o.kind === kind))
      ?.name ?? ''
  );
}

export function PromoteDialog(props: { flow: { id: string; name: string }; onClose: () => void }) {
  const { t } = useTranslation();
  const current = useSessionStore((s) => s.session?.workspace?.id);
  const [targets, setTargets] = useState<(Workspace & { role: Role })[] | null>(null);
  const [target, setTarget] = useState('');
  const [needs, setNeeds] = useState<PromotionNeeds | null>(null);
  const [connections, setConnections] = useState<Record<string, string>>({});
  const [credentials, setCredentials] = useState<Record<string, string>>({});
  const [message, setMessage] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<{ flowId: string; workspace: Workspace } | null>(null);

  useEffect(() => {
    api.workspaces().then(
      (all) => {
        const usable = all.filter((w) => w.id !== current && promoters.includes(w.role));
        setTargets(usable);
        if (usable[0]) setTarget(usable[0].id);
      },
      (err: unknown) => setError(errorText(t, err)),
    );
  }, [current, t]);

  useEffect(() => {
    if (!target) return;
    setNeeds(null);
    setError(null);
    api.promotionNeeds(props.flow.id, target).then(
      (n) => {
        setNeeds(n);
        setConnections(
          Object.fromEntries(n.connections.map((c) => [c.name, guess(c.name, c.kind, n.target.connections)])),
        );
        setCredentials(
          Object.fromEntries(
            n.credentials.map((c) => [
              c,
              guess(
                c,
                null,
                n.target.credentials.map((name) => ({ name })),
              ),
            ]),
          ),
        );
      },
      (err: unknown) => setError(errorText(t, err)),
    );
  }, [target, props.flow.id, t]);

  const complete =
    needs !== null && Object.values(connections).every(Boolean) && Object.values(credentials).every(Boolean);

  const promote = async () => {
    setBusy(true);
    setError(null);
    try {
      const r = await api.promote(props.flow.id, {
        targetWorkspaceId: target,
        connections,
        credentials,
        ...(message.trim() ? { message: message.trim() } : {}),
      });
      setDone({ flowId: r.flow.id, workspace: r.targetWorkspace });
    } catch (err) {
      setError(errorText(t, err));
    } finally {
      setBusy(false);
    }
  };

  const openPromoted = async () => {
    if (!done) return;
    await useSessionStore.getState().switchWorkspace(done.workspace.id);
    navigate({ name: 'flow', flowId: done.flowId });
  };

  const footer = done ? (
    <>
      <button type="button" className="button ghost" onClick={props.onClose}>
        {t('common.close')}
      </button>
      <button
        type="button"
        className="button primary"
        onClick={() => void openPromoted()}
        data-testid="promote-open"
      >
        {t('promote.open', { workspace: done.workspace.name })}
      </button>
    </>
  ) : (
    <>
      <button type="button" className="button ghost" onClick={props.onClose}>
        {t('common.cancel')}
      </button>
      <button
        type="button"
        className="button primary"
        disabled={!complete || busy}
        onClick={() => void promote()}
        data-testid="promote-submit"
      >
        {t('promote.submit')}
      </button>
    </>
  );

  return (
    <Dialog
      open
      wide
      title={t('promote.title', { name: props.flow.name })}
      onClose={props.onClose}
      footer={footer}
      testId="promote-dialog"
    >
      {done ? (
        <p role="status" data-testid="promote-done">
          {t('promote.done', { name: props.flow.name, workspace: done.workspace.name })}
        </p>
      ) : (
        <div className="form-grid">
          <p className="muted">{t('promote.explain')}</p>
          {targets !== null && targets.length === 0 && <p className="muted">{t('promote.noTarget')}</p>}
          {targets !== null && targets.length > 0 && (
            <label className="field">
              <span>{t('promote.target')}</span>
              <select
                className="input"
                value={target}
                onChange={(e) => setTarget(e.target.value)}
                data-testid="promote-target"
              >
                {targets.map((w) => (
                  <option key={w.id} value={w.id}>
                    {w.name}
                  </option>
                ))}
              </select>
            </label>
          )}
          {needs && needs.connections.length + needs.credentials.length === 0 && (
            <p className="muted">{t('promote.nothingToMap')}</p>
          )}
          {needs?.connections.map((c) => (
            <label className="field" key={`c:${c.name}`}>
              <span>{t('promote.connection', { name: c.name, kind: c.kind ?? '?' })}</span>
              <select
                className="input"
                value={connections[c.name] ?? ''}
                onChange={(e) => setConnections({ ...connections, [c.name]: e.target.value })}
                data-testid={`promote-connection-${c.name}`}
              >
                <option value="">{t('promote.choose')}</option>
                {needs.target.connections
                  .filter((o) => c.kind === null || o.kind === c.kind)
                  .map((o) => (
                    <option key={o.name} value={o.name}>
                      {o.name} ({o.kind})
                    </option>
                  ))}
              </select>
            </label>
          ))}
          {needs?.credentials.map((c) => (
            <label className="field" key={`k:${c}`}>
              <span>{t('promote.credential', { name: c })}</span>
              <select
                className="input"
                value={credentials[c] ?? ''}
                onChange={(e) => setCredentials({ ...credentials, [c]: e.target.value })}
                data-testid={`promote-credential-${c}`}
              >
                <option value="">{t('promote.choose')}</option>
                {needs.target.credentials.map((o) => (
                  <option key={o} value={o}>
                    {o}
                  </option>
                ))}
              </select>
            </label>
          ))}
          {needs && (
            <label className="field">
              <span>{t('promote.message')}</span>
              <input
                className="input"
                value={message}
                maxLength={2000}
                onChange={(e) => setMessage(e.target.value)}
              />
            </label>
          )}
        </div>
      )}
      <ErrorBox>{error}</ErrorBox>
    </Dialog>
  );
}
