/** Sign-in, and on a fresh server the one-time creation of the first admin with the setup token it printed. */
import { Workflow } from 'lucide-react';
import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { errorText } from '../i18n/errors.js';
import { useSessionStore } from '../state/session-store.js';
import { LanguageSwitch } from './app-header.js';
import { ErrorBox } from '../ui/error-box.js';

export function LoginPage() {
  const { t } = useTranslation();
  const setupRequired = useSessionStore((s) => s.setupRequired);
  const policy = useSessionStore((s) => s.passwordPolicy);
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [name, setName] = useState('');
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    const empty = (
      setupRequired
        ? ([
            [token, 'login.token'],
            [name, 'login.name'],
            [email, 'login.email'],
            [password, 'login.password'],
          ] as const)
        : ([
            [email, 'login.email'],
            [password, 'login.password'],
          ] as const)
    ).find(([value]) => !value.trim());
    if (empty) {
      setError(t('login.required', { field: t(empty[1]) }));
      return;
    }
    // The server's rule, checked here first so the message names it (characters as people count them).
    const length = [...password.normalize('NFKC')].length;
    if (setupRequired && policy && length < policy.minLength) {
      setError(t('login.passwordTooShort', { minLength: policy.minLength, length }));
      return;
    }
    setBusy(true);
    try {
      if (setupRequired)
        await useSessionStore.getState().setup({ token: token.trim(), email, name, password });
      else await useSessionStore.getState().login(email, password);
    } catch (err) {
      setError(errorText(t, err));
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
        // Checked in submit(), so every message is in the UI language and names the server's rule.
        noValidate
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
            {...(setupRequired && policy
              ? {
                  minLength: policy.minLength,
                  maxLength: policy.maxLength,
                  'aria-describedby': 'password-rule',
                }
              : {})}
            autoComplete={setupRequired ? 'new-password' : 'current-password'}
            data-testid="login-password"
          />
          {setupRequired && policy && (
            <span className="field-help" id="password-rule" data-testid="password-rule">
              {t('login.passwordRule', { minLength: policy.minLength })}
            </span>
          )}
        </label>
        <ErrorBox testId="login-error">{error}</ErrorBox>
        <button type="submit" className="button primary block" disabled={busy} data-testid="login-submit">
          {setupRequired ? t('login.createAdmin') : t('login.submit')}
        </button>
        <p className="login-foot muted small">{t('login.foot')}</p>
      </form>
    </div>
  );
}
