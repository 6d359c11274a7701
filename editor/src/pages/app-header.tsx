/**
 * The top bar on every signed-in page: product name, navigation (with the number of review tasks waiting for the
 * user), language switch and the signed-in user.
 */
import { Globe, LogOut, Workflow } from 'lucide-react';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api/client.js';
import { REVIEWS_CHANGED } from '../review/sla.js';
import { setLang, useLang } from '../i18n/index.js';
import { href, parseRoute, useHash } from '../router.js';
import { useSessionStore } from '../state/session-store.js';
import { InvitationsButton } from './invitations.js';

export function LanguageSwitch() {
  const lang = useLang();
  const { t } = useTranslation();
  return (
    <button
      type="button"
      className="lang-switch"
      onClick={() => setLang(lang === 'zh-CN' ? 'en' : 'zh-CN')}
      title={t('app.switchLanguage')}
      data-testid="lang-switch"
    >
      <Globe size={14} aria-hidden />
      {/* The visible name is the accessible name (WCAG 2.5.3); it is written in the language it switches to. */}
      <span lang={lang === 'zh-CN' ? 'en' : 'zh-CN'}>{lang === 'zh-CN' ? 'English' : '中文'}</span>
    </button>
  );
}

/** How many open review tasks the signed-in user may decide (refreshed every half minute). */
function useOpenReviews(): number {
  const [n, setN] = useState(0);
  useEffect(() => {
    let stop = false;
    const load = () =>
      api.reviews({ status: 'open', limit: 200 }).then(
        (tasks) => !stop && setN(tasks.length),
        () => undefined,
      );
    void load();
    const timer = setInterval(() => void load(), 30_000);
    const changed = () => void load();
    window.addEventListener(REVIEWS_CHANGED, changed);
    return () => {
      stop = true;
      clearInterval(timer);
      window.removeEventListener(REVIEWS_CHANGED, changed);
    };
  }, []);
  return n;
}

export function AppHeader() {
  const { t } = useTranslation();
  const session = useSessionStore((s) => s.session);
  const route = parseRoute(useHash());
  const openReviews = useOpenReviews();
  return (
    <header className="app-header">
      <a className="brand" href={href({ name: 'flows' })}>
        <span className="brand-mark" aria-hidden>
          <Workflow size={16} />
        </span>
        FinFlow
      </a>
      {/* Without a workspace there is nothing to navigate to: the page lists the invitations. */}
      {session?.workspace !== null && (
        <nav className="app-nav" aria-label={t('app.nav')}>
          <a
            href={href({ name: 'flows' })}
            className={route.name === 'flows' || route.name === 'flow' ? 'active' : ''}
            aria-current={route.name === 'flows' ? 'page' : undefined}
          >
            {t('app.flows')}
          </a>
          <a
            href={href({ name: 'endpoints' })}
            className={route.name === 'endpoints' ? 'active' : ''}
            aria-current={route.name === 'endpoints' ? 'page' : undefined}
          >
            {t('app.endpoints')}
          </a>
          <a
            href={href({ name: 'board' })}
            className={route.name === 'board' ? 'active' : ''}
            aria-current={route.name === 'board' ? 'page' : undefined}
            data-testid="nav-board"
          >
            {t('app.board')}
          </a>
          <a
            href={href({ name: 'reviews' })}
            className={route.name === 'reviews' ? 'active' : ''}
            aria-current={route.name === 'reviews' ? 'page' : undefined}
            data-testid="nav-reviews"
          >
            {t('app.reviews')}
            {openReviews > 0 && (
              <span className="nav-badge" aria-label={t('app.openReviews', { n: openReviews })}>
                {openReviews}
              </span>
            )}
          </a>
          <a
            href={href({ name: 'connections' })}
            className={route.name === 'connections' ? 'active' : ''}
            aria-current={route.name === 'connections' ? 'page' : undefined}
          >
            {t('app.connections')}
          </a>
        </nav>
      )}
      <div className="spacer" />
      {session?.workspace && (
        <span className="workspace-name" title={t('app.workspace')} data-testid="workspace-name">
          {session.workspace.name}
        </span>
      )}
      <InvitationsButton />
      <LanguageSwitch />
      {session && (
        <div className="user-chip" title={session.user.email}>
          <span className="avatar" aria-hidden>
            {session.user.name.slice(0, 1).toUpperCase()}
          </span>
          <span className="user-name">{session.user.name}</span>
          {session.user.role && <span className="role">{t(`roles.${session.user.role}`)}</span>}
          <button
            type="button"
            className="icon-button"
            onClick={() => void useSessionStore.getState().logout()}
            aria-label={t('app.signOut')}
            title={t('app.signOut')}
          >
            <LogOut size={14} />
          </button>
        </div>
      )}
    </header>
  );
}
