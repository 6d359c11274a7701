/** The node catalog, templates and credential names from the server, loaded once per session and shared. */
import { create } from 'zustand';
import { api } from '../api/client.js';
import type { Catalog, CatalogEntry, Credential, Template } from '../api/types.js';

interface CatalogState {
  catalog: Catalog | null;
  byType: ReadonlyMap<string, CatalogEntry>;
  templates: Template[] | null;
  credentials: Credential[] | null;
  error: string | null;
  loadCatalog(): Promise<void>;
  /** Fetches the catalog again (a plugin was reloaded into the server). */
  reloadCatalog(): Promise<void>;
  loadTemplates(): Promise<Template[]>;
  loadCredentials(): Promise<void>;
}

let catalogPromise: Promise<void> | null = null;

export const useCatalogStore = create<CatalogState>()((set, get) => ({
  catalog: null,
  byType: new Map(),
  templates: null,
  credentials: null,
  error: null,
  loadCatalog() {
    catalogPromise ??= api
      .catalog()
      .then((catalog) =>
        set({ catalog, byType: new Map(catalog.nodes.map((n) => [n.type, n])), error: null }),
      )
      .catch((err: Error) => {
        catalogPromise = null;
        set({ error: err.message });
      });
    return catalogPromise;
  },
  reloadCatalog() {
    catalogPromise = null;
    return get().loadCatalog();
  },
  async loadTemplates() {
    const have = get().templates;
    if (have) return have;
    const templates = await api.templates();
    set({ templates });
    return templates;
  },
  async loadCredentials() {
    try {
      set({ credentials: await api.credentials() });
    } catch {
      // Roles without access to credentials still edit flows; the secret field then takes a typed name.
      set({ credentials: [] });
    }
  },
}));

export function entryFor(type: string): CatalogEntry | undefined {
  return useCatalogStore.getState().byType.get(type);
}
