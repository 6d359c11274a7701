/** Routes for credentials, connections, published endpoints, API keys, the audit log and node plugins. */
import { credentialNamePattern, endpointLimits, slugPattern } from '@finflow/contract';
import { Router } from 'express';
import { z } from 'zod';
import { connectionNamePattern, connectionSpecSchema } from '@finflow/runtime';
import { checkpointSchema } from '../audit-chain.js';
import type { AppContext } from '../context.js';
import { parseRequest } from '../errors.js';
import { actorOf, allow, param } from './common.js';

const credentialName = z
  .string()
  .regex(credentialNamePattern, 'a credential name starts with a letter and holds letters, digits, _ . -');
const putCredentialBody = z.strictObject({
  value: z
    .string()
    .min(1)
    .max(64 * 1024),
  description: z.string().max(2000).optional(),
});

const connectionName = z
  .string()
  .regex(connectionNamePattern, 'a connection name starts with a letter and holds letters, digits, _ . -');

const intIn = (l: { min: number; max: number }) => z.number().int().min(l.min).max(l.max);
const settings = {
  mode: z.enum(['sync', 'async']).optional(),
  timeoutMs: intIn(endpointLimits.timeoutMs).optional(),
  maxBodyBytes: intIn(endpointLimits.maxBodyBytes).optional(),
  rateLimitPerMinute: intIn(endpointLimits.rateLimitPerMinute).optional(),
};
const publishBody = z.strictObject({
  flowId: z.string().min(1).max(100),
  version: z.number().int().min(1),
  slug: z
    .string()
    .regex(
      slugPattern,
      'a slug is lower-case letters, digits and -, starting with a letter or digit (at most 63)',
    ),
  ...settings,
});
const target = z.strictObject({ version: z.number().int().min(1), weight: z.number().min(0).max(100) });
const patchBody = z
  .strictObject({
    version: z.number().int().min(1).optional(),
    targets: z.array(target).min(1).max(10).optional(),
    status: z.enum(['active', 'disabled']).optional(),
    ...settings,
  })
  .refine((b) => Object.keys(b).length > 0, 'change at least one field');
const keyBody = z.strictObject({
  name: z.string().trim().min(1).max(200),
  endpoints: z.union([z.literal('*'), z.array(z.string().min(1).max(100)).min(1).max(1000)]),
});
const reloadBody = z.strictObject({ dir: z.string().min(1).max(1000) });
const verifyBody = z.strictObject({ checkpoint: checkpointSchema });
const auditQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  before: z.coerce.number().int().min(1).optional(),
});

export function manageRoutes(ctx: AppContext): Router {
  const r = Router();

  r.get('/credentials', async (_req, res) => {
    const auth = allow(res, 'read');
    res.json(await ctx.credentials.list(auth.workspace.id));
  });

  r.put('/credentials/:name', async (req, res) => {
    const auth = allow(res, 'credential.write');
    const name = parseRequest(credentialName, param(req, 'name'), 'credential name');
    const body = parseRequest(putCredentialBody, req.body, 'credential');
    await ctx.credentials.put(auth.workspace.id, name, body.value, body.description, actorOf(auth));
    res.status(204).end();
  });

  r.delete('/credentials/:name', async (req, res) => {
    const auth = allow(res, 'credential.write');
    const name = parseRequest(credentialName, param(req, 'name'), 'credential name');
    await ctx.credentials.remove(auth.workspace.id, name, actorOf(auth));
    res.status(204).end();
  });

  // Every role reads connections (flow authors choose one by name); only developers and admins write them.
  r.get('/connections', async (_req, res) => {
    const auth = allow(res, 'read');
    res.json(await ctx.connections.list(auth.workspace.id));
  });

  r.get('/connections/:name', async (req, res) => {
    const auth = allow(res, 'read');
    const name = parseRequest(connectionName, param(req, 'name'), 'connection name');
    res.json(await ctx.connections.get(auth.workspace.id, name));
  });

  r.put('/connections/:name', async (req, res) => {
    const auth = allow(res, 'connection.write');
    const name = parseRequest(connectionName, param(req, 'name'), 'connection name');
    const spec = parseRequest(connectionSpecSchema, req.body, 'connection');
    const outcome = await ctx.connections.put(auth.workspace.id, name, spec, actorOf(auth));
    res.status(outcome === 'created' ? 201 : 200).json(await ctx.connections.get(auth.workspace.id, name));
  });

  r.delete('/connections/:name', async (req, res) => {
    const auth = allow(res, 'connection.write');
    const name = parseRequest(connectionName, param(req, 'name'), 'connection name');
    await ctx.connections.remove(auth.workspace.id, name, actorOf(auth));
    res.status(204).end();
  });

  r.get('/endpoints', async (_req, res) => {
    const auth = allow(res, 'read');
    res.json(await ctx.endpoints.list(auth.workspace.id));
  });

  r.post('/endpoints', async (req, res) => {
    const auth = allow(res, 'endpoint.write');
    const body = parseRequest(publishBody, req.body, 'endpoint');
    const endpoint = await ctx.endpoints.publish(auth.workspace.id, actorOf(auth), body);
    res.status(201).json(await ctx.endpoints.view(endpoint));
  });

  r.get('/endpoints/:id', async (req, res) => {
    const auth = allow(res, 'read');
    res.json(await ctx.endpoints.view(await ctx.endpoints.get(auth.workspace.id, param(req, 'id'))));
  });

  r.patch('/endpoints/:id', async (req, res) => {
    const auth = allow(res, 'endpoint.write');
    const body = parseRequest(patchBody, req.body, 'endpoint change');
    const endpoint = await ctx.endpoints.update(auth.workspace.id, param(req, 'id'), actorOf(auth), body);
    res.json(await ctx.endpoints.view(endpoint));
  });

  r.get('/endpoints/:id/deployments', async (req, res) => {
    const auth = allow(res, 'read');
    res.json(await ctx.endpoints.deployments(auth.workspace.id, param(req, 'id')));
  });

  r.get('/keys', async (_req, res) => {
    const auth = allow(res, 'key.read');
    res.json(await ctx.endpoints.listKeys(auth.workspace.id));
  });

  r.post('/keys', async (req, res) => {
    const auth = allow(res, 'key.write');
    const body = parseRequest(keyBody, req.body, 'API key');
    res
      .status(201)
      .json(await ctx.endpoints.createKey(auth.workspace.id, actorOf(auth), body.name, body.endpoints));
  });

  // A new key with the same name and scope; the old one stops at once (same transaction), audited as key.rotated.
  r.post('/keys/:id/rotate', async (req, res) => {
    const auth = allow(res, 'key.write');
    res.status(201).json(await ctx.endpoints.rotateKey(auth.workspace.id, param(req, 'id'), actorOf(auth)));
  });

  r.delete('/keys/:id', async (req, res) => {
    const auth = allow(res, 'key.write');
    await ctx.endpoints.revokeKey(auth.workspace.id, param(req, 'id'), actorOf(auth));
    res.status(204).end();
  });

  r.get('/audit', async (req, res) => {
    const auth = allow(res, 'audit.read');
    const q = parseRequest(auditQuery, req.query, 'query');
    res.json(await ctx.audit.list(auth.workspace.id, q.limit, q.before));
  });

  r.get('/plugins', (_req, res) => {
    allow(res, 'plugin.read');
    res.json({
      plugins: ctx.plugins.list(),
      failures: ctx.plugins.failures,
      devReload: ctx.plugins.devReload,
    });
  });

  r.post('/plugins/reload', async (req, res) => {
    const auth = allow(res, 'plugin.reload');
    const body = parseRequest(reloadBody, req.body, 'reload request');
    const result = await ctx.plugins.reload(body.dir);
    await ctx.audit.record(
      auth.workspace.id,
      actorOf(auth),
      'plugin.reloaded',
      `plugin:${result.plugin.id}`,
      {
        package: result.plugin.package,
        version: result.plugin.version,
        added: result.added,
        removed: result.removed,
      },
    );
    res.json(result);
  });

  r.get('/audit/verify', async (_req, res) => {
    const auth = allow(res, 'audit.read');
    res.json(await ctx.audit.verify(auth.workspace.id));
  });

  // Against a checkpoint an auditor kept (from GET /api/audit/checkpoint or `finflow audit checkpoint`).
  r.post('/audit/verify', async (req, res) => {
    const auth = allow(res, 'audit.read');
    const body = parseRequest(verifyBody, req.body, 'verification request');
    res.json(await ctx.audit.verify(auth.workspace.id, body.checkpoint));
  });

  r.get('/audit/checkpoint', async (_req, res) => {
    const auth = allow(res, 'audit.read');
    res.json(await ctx.audit.checkpoint(auth.workspace.id));
  });

  return r;
}
