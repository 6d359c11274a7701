/**
 * Invitations to workspaces, as the invited account answers them: a list with accept and decline, shown in a
 * dialog from the header (while there are some) and on the page an account sees before it belongs to any
 * workspace. Accepting adds the membership; the account then opens the workspace from here.
 */
import { Check, Mail, X } from 'lucide-react';
import { useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api/client.js';
import type { Invitation, Workspace } from '../api/types.js';
import { formatTime, useLang } from '../i18n/index.js';
import { navigate } from '../router.js';
import { useSessionStore } from '../state/session-store.js';
import { Dialog } from '../ui/dialog.js';
import { AppHeader } from './app-header.js';
import { ErrorBox } from '../ui/error-box.js';

/** Opens a workspace the account just joined (or any it is a member of). */
async function openWorkspace(workspace: Workspace): Promise<void> {
  await useSessionStore.getState().switchWorkspace(workspace.id);
  navigate({ name: 'flows' });
}

export function InvitationList(props: { onChange?: () => void; openOnAccept?: boolean }) {
  const { t } = useTranslation();
  const lang = useLang();
  const [invitations, setInvitations] = useState<Invitation[] | null>(null);
  const [joined, setJoined] = useState<Workspace[]>([]);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const { onChange, openOnAccept } = props;

  const load = useCallback(() => {
    api.invitations().then(setInvitations, (err: Error) => setError(err.message));
  }, []);
  useEffect(load, [load]);

  const answer = async (invitation: Invitation, accept: boolean) => {
    setBusy(invitation.id);
    setError(null);
    try {
      if (accept) {
        const { workspace } = await api.acceptInvitation(invitation.id);
        if (openOnAccept) {
          await openWorkspace(workspace);
          return;
        }
        setJoined((j) => [...j, workspace]);
      } else await api.declineInvitation(invitation.id);
      setInvitations((list) => list?.filter((i) => i.id !== invitation.id) ?? null);
      await useSessionStore.getState().refresh();
      onChange?.();
    } catch (err) {
      setError((err as Error).message);
      load();
    } finally {
      setBusy(null);
    }
  };

  return (
    <div className="invitations" data-testid="invitation-list">
      <ErrorBox>{error}</ErrorBox>
      {joined.map((w) => (
        <div key={w.id} className="invitation joined" role="status">
          <Check size={16} aria-hidden />
          <span>{t('invitations.joined', { workspace: w.name })}</span>
          <button type="button" className="button small primary" onClick={() => void openWorkspace(w)}>
            {t('invitations.open', { workspace: w.name })}
          </button>
        </div>
      ))}
      {invitations === null && !error && <p className="muted">{t('common.loading')}</p>}
      {invitations?.length === 0 && joined.length === 0 && <p className="muted">{t('invitations.empty')}</p>}
      {invitations?.map((inv) => (
        <div key={inv.id} className="invitation" data-testid="invitation">
          <Mail size={16} aria-hidden className="invitation-icon" />
          <div className="invitation-text">
            <strong>{inv.workspace.name}</strong>
            <span className="muted">
              {t('invitations.details', {
                role: t(`roles.${inv.role}`),
                name: inv.invitedBy.name,
                time: formatTime(inv.expiresAt, lang),
              })}
            </span>
          </div>
          <button
            type="button"
            className="button small ghost"
            disabled={busy !== null}
            onClick={() => void answer(inv, false)}
            aria-label={t('invitations.declineLabel', { workspace: inv.workspace.name })}
          >
            <X size={14} aria-hidden />
            {t('invitations.decline')}
          </button>
          <button
            type="button"
            className="button small primary"
            disabled={busy !== null}
            onClick={() => void answer(inv, true)}
            aria-label={t('invitations.acceptLabel', { workspace: inv.workspace.name })}
          >
            <Check size={14} aria-hidden />
            {t('invitations.accept')}
          </button>
        </div>
      ))}
    </div>
  );
}

/** The header's way to pending invitations: shown while there are some, with their count. */
export function InvitationsButton() {
  const { t } = useTranslation();
  const count = useSessionStore((s) => s.session?.invitations ?? 0);
  const inWorkspace = useSessionStore((s) => Boolean(s.session?.workspace));
  const [open, setOpen] = useState(false);
  // Without a workspace the page itself lists the invitations.
  if (!inWorkspace || (count === 0 && !open)) return null;
  return (
    <>
      <button
        type="button"
        className="lang-switch"
        onClick={() => setOpen(true)}
        data-testid="invitations-button"
        aria-label={t('invitations.buttonLabel', { count })}
      >
        <Mail size={14} aria-hidden />
        {t('invitations.button')}
        {count > 0 && <span className="count-badge">{count}</span>}
      </button>
      <Dialog
        open={open}
        title={t('invitations.title')}
        onClose={() => setOpen(false)}
        wide
        testId="invitations-dialog"
        footer={
          <button type="button" className="button" onClick={() => setOpen(false)}>
            {t('common.done')}
          </button>
        }
      >
        <p className="muted">{t('invitations.help')}</p>
        <InvitationList />
      </Dialog>
    </>
  );
}

/** What an account that belongs to no workspace sees: its invitations, or how to get one. */
export function NoWorkspacePage() {
  const { t } = useTranslation();
  return (
    <div className="app-shell">
      <AppHeader />
      <main className="page narrow" data-testid="no-workspace-page">
        <div className="page-head">
          <div>
            <h1>{t('invitations.noWorkspaceTitle')}</h1>
            <p className="muted">{t('invitations.noWorkspaceHelp')}</p>
          </div>
        </div>
        <h2 className="section-heading">{t('invitations.title')}</h2>
        <div className="card card-padded">
          <InvitationList openOnAccept />
        </div>
      </main>
    </div>
  );
}
