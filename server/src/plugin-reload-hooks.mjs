// Module hooks that let the server load a new version of a plugin package without a restart (`finflow dev`).
// A plugin module imported as `<entry>?finflow-dev=<n>:<root>` is a new module instance; this resolve hook gives
// the files it imports from its own package (never from node_modules) the same tag, so the whole package is
// evaluated afresh while the SDK, zod and other dependencies stay the instances the server already has (the
// runtime checks `instanceof NodeError`). Registered only when FINFLOW_DEV_RELOAD is on: each reload keeps the
// old modules in memory, which suits a developer's machine and not a production server.
import { fileURLToPath } from 'node:url';

const TAG = /[?&](finflow-dev=\d+:[A-Za-z0-9_-]+)(?:&|$)/;

export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  const parent = context.parentURL;
  if (!parent || !result.url.startsWith('file:')) return result;
  const tag = TAG.exec(parent)?.[1];
  if (!tag) return result;
  const root = Buffer.from(tag.slice(tag.indexOf(':') + 1), 'base64url').toString();
  const url = new URL(result.url);
  if (url.search) return result;
  const path = fileURLToPath(url);
  if (!path.startsWith(`${root}/`) || path.slice(root.length).includes('/node_modules/')) return result;
  return { ...result, url: `${result.url}?${tag}` };
}
