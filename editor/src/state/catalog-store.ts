/**
 * The node catalog, templates, credential names and connections from the server, loaded once per session and
 * shared (connections again after the connections page changes them).
 */
import { create } from 'zustand';
import { api } from '../api/client.js';
import type { Catalog, CatalogEntry, Connection, Credential, Template } from '../api/types.js';

interface CatalogState {
  catalog: Catalog | null;
  byType: ReadonlyMap<string, CatalogEntry>;
  templates: Template[] | null;
  credentials: Credential[] | null;
  connections: Connection[] | null;
  error: string | null;
  loadCatalog(): Promise<void>;
  /** Fetches the catalog again (a plugin was reloaded into the server). */
  reloadCatalog(): Promise<void>;
  loadTemplates(): Promise<Template[]>;
  loadCredentials(): Promise<void>;
  loadConnections(): Promise<void>;
}

let catalogPromise: Promise<void> | null = null;

export const useCatalogStore = create<CatalogState>()((set, get) => ({
  catalog: null,
  byType: new Map(),
  templates: null,
  credentials: null,
  connections: null,
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
  async loadConnections() {
    try {
      set({ connections: await api.connections() });
    } catch {
      set({ connections: [] });
    }
  },
}));

export function entryFor(type: string): CatalogEntry | undefined {
  return useCatalogStore.getState().byType.get(type);
}
