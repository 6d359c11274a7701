/** The top bar on every signed-in page: product name, navigation, language switch and the signed-in user. */
import { Globe, LogOut, Workflow } from 'lucide-react';
import { useTranslation } from 'react-i18next';
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
      aria-label={t('app.switchLanguage')}
      title={t('app.switchLanguage')}
      data-testid="lang-switch"
    >
      <Globe size={14} aria-hidden />
      {lang === 'zh-CN' ? 'English' : '中文'}
    </button>
  );
}

export function AppHeader() {
  const { t } = useTranslation();
  const session = useSessionStore((s) => s.session);
  const route = parseRoute(useHash());
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
