/** Sign-in, and on a fresh server the one-time creation of the first admin with the setup token it printed. */
import { Workflow } from 'lucide-react';
import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useSessionStore } from '../state/session-store.js';
import { LanguageSwitch } from './app-header.js';

export function LoginPage() {
  const { t } = useTranslation();
  const setupRequired = useSessionStore((s) => s.setupRequired);
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [name, setName] = useState('');
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (setupRequired)
        await useSessionStore.getState().setup({ token: token.trim(), email, name, password });
      else await useSessionStore.getState().login(email, password);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="login-page">
      <div className="login-lang">
        <LanguageSwitch />
      </div>
      <form
        className="login-card"
        onSubmit={(e) => void submit(e)}
        aria-labelledby="login-title"
        data-testid="login-form"
      >
        <div className="login-brand">
          <span className="brand-mark large" aria-hidden>
            <Workflow size={22} />
          </span>
          <div>
            <h1 id="login-title">FinFlow</h1>
            <p className="muted">{t('login.tagline')}</p>
          </div>
        </div>
        <h2 className="login-heading">{setupRequired ? t('login.setupTitle') : t('login.title')}</h2>
        {setupRequired && <p className="muted small">{t('login.setupHelp')}</p>}
        {setupRequired && (
          <label className="field">
            <span className="field-label">{t('login.token')}</span>
            <input
              className="input mono"
              value={token}
              onChange={(e) => setToken(e.target.value)}
              required
              autoComplete="off"
              data-testid="setup-token"
            />
          </label>
        )}
        {setupRequired && (
          <label className="field">
            <span className="field-label">{t('login.name')}</span>
            <input
              className="input"
              value={name}
              onChange={(e) => setName(e.target.value)}
              required
              autoComplete="name"
            />
          </label>
        )}
        <label className="field">
          <span className="field-label">{t('login.email')}</span>
          <input
            className="input"
            type="email"
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            required
            autoComplete="username"
            data-testid="login-email"
          />
        </label>
        <label className="field">
          <span className="field-label">{t('login.password')}</span>
          <input
            className="input"
            type="password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            required
            minLength={setupRequired ? 8 : 1}
            autoComplete={setupRequired ? 'new-password' : 'current-password'}
            data-testid="login-password"
          />
        </label>
        {error && (
          <div className="error-box" role="alert" data-testid="login-error">
            {error}
          </div>
        )}
        <button type="submit" className="button primary block" disabled={busy} data-testid="login-submit">
          {setupRequired ? t('login.createAdmin') : t('login.submit')}
        </button>
        <p className="login-foot muted small">{t('login.foot')}</p>
      </form>
    </div>
  );
}
