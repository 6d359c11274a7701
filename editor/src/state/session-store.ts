/** Who is signed in: the session from /api/auth/me, sign-in, first-admin setup and sign-out. */
import { create } from 'zustand';
import { api, ApiError, setCsrfToken, setNoWorkspaceHandler, setUnauthorizedHandler } from '../api/client.js';
import type { PasswordPolicy } from '@finflow/contract';
import type { Session } from '../api/types.js';

type Status = 'loading' | 'anonymous' | 'authenticated';

interface SessionState {
  status: Status;
  session: Session | null;
  setupRequired: boolean;
  /** The server's rule for new passwords (from /api/auth/status), shown on the setup form. */
  passwordPolicy: PasswordPolicy | null;
  refresh(): Promise<void>;
  login(email: string, password: string): Promise<void>;
  setup(body: { token: string; email: string; name: string; password: string }): Promise<void>;
  logout(): Promise<void>;
  /** Moves the session to another workspace the account is a member of. */
  switchWorkspace(workspaceId: string): Promise<void>;
}

export const useSessionStore = create<SessionState>()((set, get) => ({
  status: 'loading',
  session: null,
  setupRequired: false,
  passwordPolicy: null,
  async refresh() {
    try {
      const session = await api.me();
      setCsrfToken(session.csrfToken);
      set({ status: 'authenticated', session, setupRequired: false });
    } catch (err) {
      if (!(err instanceof ApiError) || (err.status !== 401 && err.status !== 403)) {
        set({ status: 'anonymous', session: null });
        throw err;
      }
      let setupRequired = false;
      let passwordPolicy: PasswordPolicy | null = null;
      try {
        ({ setupRequired, password: passwordPolicy } = await api.authStatus());
      } catch {
        // Sign-in still works; the setup form then relies on the server's answer.
      }
      set({ status: 'anonymous', session: null, setupRequired, passwordPolicy });
    }
  },
  async login(email, password) {
    const r = await api.login(email, password);
    setCsrfToken(r.csrfToken);
    // /me is the source of truth for the session shape (role, workspace).
    try {
      const session = await api.me();
      setCsrfToken(session.csrfToken);
      set({ status: 'authenticated', session });
    } catch {
      set({
        status: 'authenticated',
        session: { user: r.user, workspace: r.workspace ?? null, csrfToken: r.csrfToken },
      });
    }
  },
  async setup(body) {
    await api.setup(body);
    await get().login(body.email, body.password);
  },
  async switchWorkspace(workspaceId) {
    const session = await api.switchWorkspace(workspaceId);
    setCsrfToken(session.csrfToken);
    set({ session });
  },
  async logout() {
    try {
      await api.logout();
    } finally {
      setCsrfToken('');
      set({ status: 'anonymous', session: null });
    }
  },
}));

setUnauthorizedHandler(() => {
  if (useSessionStore.getState().status === 'authenticated')
    useSessionStore.setState({ status: 'anonymous', session: null });
});

// Removed from the workspace while using it: /me now says where the session is (no workspace, or the invitations).
setNoWorkspaceHandler(() => {
  if (useSessionStore.getState().status === 'authenticated') void useSessionStore.getState().refresh();
});
