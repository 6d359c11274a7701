// Types of harness.mjs for the TypeScript browser tests.
export declare const repoRoot: string;
export declare const chromiumArgs: string[];
export declare function freePort(): Promise<number>;
export declare function startServer(options: {
  admin: { email: string; name: string; password: string } | null;
  quiet?: boolean;
}): Promise<{ url: string; token: string; stop: () => Promise<void> }>;
export declare function apiClient(
  url: string,
  email: string,
  password: string,
): Promise<(method: string, path: string, body?: unknown) => Promise<unknown>>;
