/** The top bar on every signed-in page: product name, navigation, language switch and the signed-in user. */
import { Globe, LogOut, Workflow } from 'lucide-react';
import { useTranslation } from 'react-i18next';
import { setLang, useLang } from '../i18n/index.js';
import { href, parseRoute, useHash } from '../router.js';
import { useSessionStore } from '../state/session-store.js';

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
      <div className="spacer" />
      <LanguageSwitch />
      {session && (
        <div className="user-chip" title={session.user.email}>
          <span className="avatar" aria-hidden>
            {session.user.name.slice(0, 1).toUpperCase()}
          </span>
          <span className="user-name">{session.user.name}</span>
          <span className="role">{t(`roles.${session.user.role}`)}</span>
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
