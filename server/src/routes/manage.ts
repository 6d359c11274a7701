/** Routes for credentials, connections, published endpoints, API keys, the audit log and node plugins. */
import {
  apiKeyCreatedSchema,
  apiKeyListSchema,
  apiKeyRotatedSchema,
  auditCheckpointSchema,
  auditListSchema,
  auditQuery,
  auditVerifyBody,
  auditVerifySchema,
  connectionListSchema,
  connectionNameSchema,
  connectionSchema,
  createKeyBody,
  credentialListSchema,
  credentialNameSchema,
  deploymentListSchema,
  endpointListSchema,
  endpointPatchBody,
  endpointSchema,
  pluginListSchema,
  pluginReloadBody,
  pluginReloadedSchema,
  publishBody,
  putConnectionBody,
  putCredentialBody,
} from '@finflow/contract';
import { Router } from 'express';
import type { AppContext } from '../context.js';
import { parseRequest } from '../errors.js';
import { actorOf, allow, param, reply } from './common.js';

export function manageRoutes(ctx: AppContext): Router {
  const r = Router();

  r.get('/credentials', async (_req, res) => {
    const auth = allow(res, 'read');
    reply(res, credentialListSchema, await ctx.credentials.list(auth.workspace.id));
  });

  r.put('/credentials/:name', async (req, res) => {
    const auth = allow(res, 'credential.write');
    const name = parseRequest(credentialNameSchema, param(req, 'name'), 'credential name');
    const body = parseRequest(putCredentialBody, req.body, 'credential');
    await ctx.credentials.put(auth.workspace.id, name, body.value, body.description, actorOf(auth));
    res.status(204).end();
  });

  r.delete('/credentials/:name', async (req, res) => {
    const auth = allow(res, 'credential.write');
    const name = parseRequest(credentialNameSchema, param(req, 'name'), 'credential name');
    await ctx.credentials.remove(auth.workspace.id, name, actorOf(auth));
    res.status(204).end();
  });

  // Every role reads connections (flow authors choose one by name); only developers and admins write them.
  r.get('/connections', async (_req, res) => {
    const auth = allow(res, 'read');
    reply(res, connectionListSchema, await ctx.connections.list(auth.workspace.id));
  });

  r.get('/connections/:name', async (req, res) => {
    const auth = allow(res, 'read');
    const name = parseRequest(connectionNameSchema, param(req, 'name'), 'connection name');
    reply(res, connectionSchema, await ctx.connections.get(auth.workspace.id, name));
  });

  r.put('/connections/:name', async (req, res) => {
    const auth = allow(res, 'connection.write');
    const name = parseRequest(connectionNameSchema, param(req, 'name'), 'connection name');
    const spec = parseRequest(putConnectionBody, req.body, 'connection');
    const outcome = await ctx.connections.put(auth.workspace.id, name, spec, actorOf(auth));
    reply(
      res,
      connectionSchema,
      await ctx.connections.get(auth.workspace.id, name),
      outcome === 'created' ? 201 : 200,
    );
  });

  r.delete('/connections/:name', async (req, res) => {
    const auth = allow(res, 'connection.write');
    const name = parseRequest(connectionNameSchema, param(req, 'name'), 'connection name');
    await ctx.connections.remove(auth.workspace.id, name, actorOf(auth));
    res.status(204).end();
  });

  r.get('/endpoints', async (_req, res) => {
    const auth = allow(res, 'read');
    reply(res, endpointListSchema, await ctx.endpoints.list(auth.workspace.id));
  });

  r.post('/endpoints', async (req, res) => {
    const auth = allow(res, 'endpoint.write');
    const body = parseRequest(publishBody, req.body, 'endpoint');
    const endpoint = await ctx.endpoints.publish(auth.workspace.id, actorOf(auth), body);
    reply(res, endpointSchema, await ctx.endpoints.view(endpoint), 201);
  });

  r.get('/endpoints/:id', async (req, res) => {
    const auth = allow(res, 'read');
    reply(
      res,
      endpointSchema,
      await ctx.endpoints.view(await ctx.endpoints.get(auth.workspace.id, param(req, 'id'))),
    );
  });

  r.patch('/endpoints/:id', async (req, res) => {
    const auth = allow(res, 'endpoint.write');
    const body = parseRequest(endpointPatchBody, req.body, 'endpoint change');
    const endpoint = await ctx.endpoints.update(auth.workspace.id, param(req, 'id'), actorOf(auth), body);
    reply(res, endpointSchema, await ctx.endpoints.view(endpoint));
  });

  r.get('/endpoints/:id/deployments', async (req, res) => {
    const auth = allow(res, 'read');
    reply(res, deploymentListSchema, await ctx.endpoints.deployments(auth.workspace.id, param(req, 'id')));
  });

  r.get('/keys', async (_req, res) => {
    const auth = allow(res, 'key.read');
    reply(res, apiKeyListSchema, await ctx.endpoints.listKeys(auth.workspace.id));
  });

  r.post('/keys', async (req, res) => {
    const auth = allow(res, 'key.write');
    const body = parseRequest(createKeyBody, req.body, 'API key');
    reply(
      res,
      apiKeyCreatedSchema,
      await ctx.endpoints.createKey(auth.workspace.id, actorOf(auth), body.name, body.endpoints),
      201,
    );
  });

  // A new key with the same name and scope; the old one stops at once (same transaction), audited as key.rotated.
  r.post('/keys/:id/rotate', async (req, res) => {
    const auth = allow(res, 'key.write');
    reply(
      res,
      apiKeyRotatedSchema,
      await ctx.endpoints.rotateKey(auth.workspace.id, param(req, 'id'), actorOf(auth)),
      201,
    );
  });

  r.delete('/keys/:id', async (req, res) => {
    const auth = allow(res, 'key.write');
    await ctx.endpoints.revokeKey(auth.workspace.id, param(req, 'id'), actorOf(auth));
    res.status(204).end();
  });

  r.get('/audit', async (req, res) => {
    const auth = allow(res, 'audit.read');
    const q = parseRequest(auditQuery, req.query, 'query');
    reply(res, auditListSchema, await ctx.audit.list(auth.workspace.id, q.limit, q.before));
  });

  r.get('/plugins', (_req, res) => {
    allow(res, 'plugin.read');
    reply(res, pluginListSchema, {
      plugins: ctx.plugins.list(),
      failures: ctx.plugins.failures,
      devReload: ctx.plugins.devReload,
    });
  });

  r.post('/plugins/reload', async (req, res) => {
    const auth = allow(res, 'plugin.reload');
    const body = parseRequest(pluginReloadBody, req.body, 'reload request');
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
    reply(res, pluginReloadedSchema, result);
  });

  r.get('/audit/verify', async (_req, res) => {
    const auth = allow(res, 'audit.read');
    reply(res, auditVerifySchema, await ctx.audit.verify(auth.workspace.id));
  });

  // Against a checkpoint an auditor kept (from GET /api/audit/checkpoint or `finflow audit checkpoint`).
  r.post('/audit/verify', async (req, res) => {
    const auth = allow(res, 'audit.read');
    const body = parseRequest(auditVerifyBody, req.body, 'verification request');
    reply(res, auditVerifySchema, await ctx.audit.verify(auth.workspace.id, body.checkpoint));
  });

  r.get('/audit/checkpoint', async (_req, res) => {
    const auth = allow(res, 'audit.read');
    reply(res, auditCheckpointSchema, await ctx.audit.checkpoint(auth.workspace.id));
  });

  return r;
}
