/** Routes for the catalog, templates, flows and their versions, and runs. */
import {
  createFlowBody,
  diffQuery,
  eventsQuery,
  exportQuery,
  flowCreatedSchema,
  flowDetailSchema,
  flowDiffSchema,
  flowListSchema,
  flowSavedSchema,
  okSchema,
  restoreBody,
  runDetailSchema,
  runEventListSchema,
  runListSchema,
  runsQuery,
  runStartedSchema,
  saveFlowBody,
  searchQuery,
  startRunBody,
  templateListSchema,
  validateFlowBody,
  validationSchema,
  versionDetailSchema,
  versionListSchema,
  versionNumber,
} from '@finflow/contract';
import { Router } from 'express';
import type { z } from 'zod';
import type { FlowDocument } from '@finflow/runtime';
import type { AppContext } from '../context.js';
import { badRequest, notFound, parseRequest } from '../errors.js';
import { AuthService } from '../services/auth.js';
import { flowView, versionView } from '../services/flows.js';
import { runSummary } from '../services/runs.js';
import { actorOf, allow, param, reply } from './common.js';

export function templateView(t: AppContext['templates'][number]) {
  return {
    id: t.meta.id,
    title: t.meta.title,
    description: t.meta.description,
    scenario: t.meta.scenario,
    tags: t.meta.tags,
    icon: t.meta.icon,
    regulations: t.meta.regulations,
    // The template's flow.json: a flow document as its author wrote it.
    flow: t.flow as unknown as FlowDocument,
    fixtures: t.fixtures.map((f) =>
      f.expected === undefined
        ? { name: f.name, input: f.input }
        : { name: f.name, input: f.input, expected: f.expected },
    ),
  };
}

export function flowRoutes(ctx: AppContext): Router {
  const r = Router();

  r.get('/catalog', (_req, res) => {
    allow(res, 'read');
    res.type('application/json').send(ctx.catalogJson());
  });

  r.get('/templates', (_req, res) => {
    allow(res, 'read');
    reply(res, templateListSchema, ctx.templates.map(templateView));
  });

  r.get('/flows', async (req, res) => {
    const auth = allow(res, 'read');
    const q = parseRequest(searchQuery, req.query, 'query');
    const flows = await ctx.flows.list(auth.workspace.id, q.search);
    reply(
      res,
      flowListSchema,
      flows.map((f) => ({
        ...flowView(f),
        updatedBy: f.updatedBy ? { id: f.updatedBy, name: f.updatedByName ?? '' } : null,
        published: f.published,
      })),
    );
  });

  const create = async (auth: ReturnType<typeof allow>, body: z.output<typeof createFlowBody>) => {
    const author = { id: auth.user.id, name: auth.user.name };
    if ('templateId' in body) {
      const template = ctx.templates.find((t) => t.meta.id === body.templateId);
      if (!template) throw notFound(`template ${body.templateId}`, 'TEMPLATE_NOT_FOUND');
      // The tag keeps the link to the template (the editor offers its fixtures in the run panel), whatever the
      // flow is later renamed to.
      const tag = `template:${template.meta.id}`;
      const tags = Array.isArray(template.flow['tags']) ? (template.flow['tags'] as unknown[]) : [];
      const document = {
        ...template.flow,
        tags: [...tags.filter((t) => t !== tag), tag],
        ...(body.name ? { name: body.name } : {}),
        description: body.language === 'zh-CN' ? template.meta.description.zh : template.meta.description.en,
      };
      return ctx.flows.create(
        auth.workspace.id,
        author,
        document,
        `from template ${template.meta.id}`,
        actorOf(auth),
      );
    }
    return ctx.flows.create(auth.workspace.id, author, body.document, body.message ?? '', actorOf(auth));
  };

  r.post('/flows', async (req, res) => {
    const auth = allow(res, 'flow.write');
    const { flow, version } = await create(auth, parseRequest(createFlowBody, req.body, 'flow'));
    reply(res, flowCreatedSchema, { flow: flowView(flow), version: versionView(version) }, 201);
  });

  r.post('/flows/import', async (req, res) => {
    const auth = allow(res, 'flow.write');
    if (req.body === undefined) throw badRequest('INVALID_DOCUMENT', 'send the flow document as the body');
    const { flow, version } = await create(auth, { document: req.body, message: 'imported' });
    reply(res, flowCreatedSchema, { flow: flowView(flow), version: versionView(version) }, 201);
  });

  r.post('/flows/validate', async (req, res) => {
    const auth = allow(res, 'read');
    const body = parseRequest(validateFlowBody, req.body, 'validation request');
    const problems = await ctx.flows.validate(body.document, await ctx.connections.infos(auth.workspace.id));
    reply(res, validationSchema, { ok: problems.length === 0, problems });
  });

  r.get('/flows/:id', async (req, res) => {
    const auth = allow(res, 'read');
    const { flow, version } = await ctx.flows.getVersion(auth.workspace.id, param(req, 'id'));
    reply(res, flowDetailSchema, {
      flow: flowView(flow),
      version: versionView(version),
      document: ctx.flows.current(version.document),
    });
  });

  r.put('/flows/:id', async (req, res) => {
    const auth = allow(res, 'flow.write');
    const body = parseRequest(saveFlowBody, req.body, 'flow save');
    const { flow, version, created } = await ctx.flows.save(
      auth.workspace.id,
      param(req, 'id'),
      { id: auth.user.id, name: auth.user.name },
      body.document,
      body.message,
      actorOf(auth),
    );
    reply(
      res,
      flowSavedSchema,
      { flow: flowView(flow), version: versionView(version), created },
      created ? 201 : 200,
    );
  });

  r.delete('/flows/:id', async (req, res) => {
    const auth = allow(res, 'flow.write');
    const id = param(req, 'id');
    await ctx.flows.remove(
      auth.workspace.id,
      id,
      actorOf(auth),
      await ctx.endpoints.activeSlugsOf(auth.workspace.id, id),
    );
    res.status(204).end();
  });

  r.get('/flows/:id/versions', async (req, res) => {
    const auth = allow(res, 'read');
    const flow = await ctx.flows.get(auth.workspace.id, param(req, 'id'));
    reply(res, versionListSchema, (await ctx.repo.listVersions(flow.id)).map(versionView));
  });

  r.get('/flows/:id/versions/:n', async (req, res) => {
    const auth = allow(res, 'read');
    const n = parseRequest(versionNumber, req.params['n'], 'version number');
    const { version } = await ctx.flows.getVersion(auth.workspace.id, param(req, 'id'), n);
    reply(res, versionDetailSchema, {
      version: versionView(version),
      document: ctx.flows.current(version.document),
    });
  });

  r.post('/flows/:id/versions/:n/restore', async (req, res) => {
    const auth = allow(res, 'flow.write');
    const n = parseRequest(versionNumber, req.params['n'], 'version number');
    const body = parseRequest(restoreBody, req.body, 'restore request');
    const { flow, version } = await ctx.flows.restore(
      auth.workspace.id,
      param(req, 'id'),
      n,
      { id: auth.user.id, name: auth.user.name },
      body?.message,
      actorOf(auth),
    );
    reply(res, flowCreatedSchema, { flow: flowView(flow), version: versionView(version) }, 201);
  });

  r.get('/flows/:id/diff', async (req, res) => {
    const auth = allow(res, 'read');
    const q = parseRequest(diffQuery, req.query, 'query');
    reply(res, flowDiffSchema, await ctx.flows.diff(auth.workspace.id, param(req, 'id'), q.from, q.to));
  });

  r.get('/flows/:id/export', async (req, res) => {
    const auth = allow(res, 'read');
    const q = parseRequest(exportQuery, req.query, 'query');
    const { flow, version } = await ctx.flows.getVersion(auth.workspace.id, param(req, 'id'), q.version);
    const file = `${flow.name.replace(/[^\w.-]+/g, '-').slice(0, 80) || flow.id}.v${version.number}.flow.json`;
    res.setHeader('Content-Disposition', `attachment; filename="${file}"`);
    res.type('application/json').send(version.document);
  });

  r.post('/flows/:id/runs', async (req, res) => {
    const auth = allow(res, 'run.start');
    const body = parseRequest(startRunBody, req.body, 'run request');
    let started;
    if (body.document !== undefined) {
      // A draft is flow content nobody saved: only those who may edit the flow may run it.
      AuthService.require(auth, 'flow.write');
      const plan = await ctx.flows.prepareDraft(auth.workspace.id, param(req, 'id'), body.document);
      started = ctx.runs.startPrepared(plan, {
        workspaceId: auth.workspace.id,
        flowId: plan.flowId,
        version: plan.version,
        input: body.input,
        trigger: 'draft',
        actor: actorOf(auth),
      });
    } else {
      const flow = await ctx.flows.get(auth.workspace.id, param(req, 'id'));
      const request = {
        workspaceId: auth.workspace.id,
        flowId: flow.id,
        version: body.version ?? flow.latestVersion,
        input: body.input,
        trigger: 'manual' as const,
        actor: actorOf(auth),
      };
      // Queue mode: stored as queued for a worker (durably, before it returns); main mode: started here.
      started = ctx.queue ? await ctx.queue.launcher.start(request) : await ctx.runs.start(request);
    }
    // Answer once the run is on record, so it can be read (or subscribed to) straight away: 202 means stored.
    if ('stored' in started) await started.stored;
    reply(res, runStartedSchema, { runId: started.runId, flowVersion: started.flowVersion }, 202);
  });

  r.get('/runs', async (req, res) => {
    const auth = allow(res, 'read');
    const q = parseRequest(runsQuery, req.query, 'query');
    const runs = await ctx.runs.list(auth.workspace.id, {
      limit: q.limit,
      ...(q.flowId ? { flowId: q.flowId } : {}),
      ...(q.endpointId ? { endpointId: q.endpointId } : {}),
      ...(q.status ? { status: q.status } : {}),
      ...(q.before === undefined ? {} : { before: q.before }),
    });
    reply(res, runListSchema, runs.map(runSummary));
  });

  r.get('/runs/:id', async (req, res) => {
    const auth = allow(res, 'read');
    const { record, state } = await ctx.runs.state(auth.workspace.id, param(req, 'id'));
    reply(res, runDetailSchema, { run: state, ...runSummary(record) });
  });

  r.get('/runs/:id/events', async (req, res) => {
    const auth = allow(res, 'read');
    const q = parseRequest(eventsQuery, req.query, 'query');
    reply(res, runEventListSchema, await ctx.runs.events(auth.workspace.id, param(req, 'id'), q.after));
  });

  r.post('/runs/:id/cancel', async (req, res) => {
    const auth = allow(res, 'run.start');
    await ctx.runs.cancel(auth.workspace.id, param(req, 'id'), actorOf(auth));
    reply(res, okSchema, { ok: true }, 202);
  });

  r.post('/runs/:id/rerun', async (req, res) => {
    const auth = allow(res, 'run.start');
    const started = await ctx.runs.rerun(auth.workspace.id, param(req, 'id'), actorOf(auth));
    await started.stored;
    reply(res, runStartedSchema, { runId: started.runId, flowVersion: started.flowVersion }, 202);
  });

  return r;
}
