/** Routes for the catalog, templates, flows and their versions, and runs. */
import { startRunBody } from '@finflow/contract';
import { Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { badRequest, notFound, parseRequest } from '../errors.js';
import { AuthService } from '../services/auth.js';
import { flowView, versionView } from '../services/flows.js';
import { runSummary } from '../services/runs.js';
import { actorOf, allow, param } from './common.js';

const message = z.string().max(2000);
const versionNumber = z.coerce.number().int().min(1);
const createBody = z.union([
  z.strictObject({ document: z.unknown(), message: message.optional() }),
  z.strictObject({ templateId: z.string().min(1).max(100), name: z.string().min(1).max(200).optional() }),
]);
const saveBody = z.strictObject({ document: z.unknown(), message: message.default('') });
const validateBody = z.strictObject({ document: z.unknown() });
const restoreBody = z.strictObject({ message: message.optional() }).optional();
const diffQuery = z.object({ from: versionNumber, to: versionNumber });
const exportQuery = z.object({ version: versionNumber.optional() });
const searchQuery = z.object({ search: z.string().max(200).optional() });
const runsQuery = z.object({
  flowId: z.string().max(100).optional(),
  endpointId: z.string().max(100).optional(),
  status: z
    .enum(['queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled', 'interrupted'])
    .optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  before: z.coerce.number().int().min(0).optional(),
});
const eventsQuery = z.object({ after: z.coerce.number().int().min(-1).default(-1) });

export function templateView(t: AppContext['templates'][number]) {
  return {
    id: t.meta.id,
    title: t.meta.title,
    description: t.meta.description,
    scenario: t.meta.scenario,
    tags: t.meta.tags,
    icon: t.meta.icon,
    regulations: t.meta.regulations,
    flow: t.flow,
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
    res.json(ctx.templates.map(templateView));
  });

  r.get('/flows', async (req, res) => {
    const auth = allow(res, 'read');
    const q = parseRequest(searchQuery, req.query, 'query');
    const flows = await ctx.flows.list(auth.workspace.id, q.search);
    res.json(
      flows.map((f) => ({
        ...flowView(f),
        updatedBy: f.updatedBy ? { id: f.updatedBy, name: f.updatedByName ?? '' } : null,
        published: f.published,
      })),
    );
  });

  const create = async (auth: ReturnType<typeof allow>, body: z.output<typeof createBody>) => {
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
    const { flow, version } = await create(auth, parseRequest(createBody, req.body, 'flow'));
    res.status(201).json({ flow: flowView(flow), version: versionView(version) });
  });

  r.post('/flows/import', async (req, res) => {
    const auth = allow(res, 'flow.write');
    if (req.body === undefined) throw badRequest('INVALID_DOCUMENT', 'send the flow document as the body');
    const { flow, version } = await create(auth, { document: req.body, message: 'imported' });
    res.status(201).json({ flow: flowView(flow), version: versionView(version) });
  });

  r.post('/flows/validate', async (req, res) => {
    const auth = allow(res, 'read');
    const body = parseRequest(validateBody, req.body, 'validation request');
    const problems = await ctx.flows.validate(body.document, await ctx.connections.infos(auth.workspace.id));
    res.json({ ok: problems.length === 0, problems });
  });

  r.get('/flows/:id', async (req, res) => {
    const auth = allow(res, 'read');
    const { flow, version } = await ctx.flows.getVersion(auth.workspace.id, param(req, 'id'));
    res.json({
      flow: flowView(flow),
      version: versionView(version),
      document: ctx.flows.current(version.document),
    });
  });

  r.put('/flows/:id', async (req, res) => {
    const auth = allow(res, 'flow.write');
    const body = parseRequest(saveBody, req.body, 'flow save');
    const { flow, version, created } = await ctx.flows.save(
      auth.workspace.id,
      param(req, 'id'),
      { id: auth.user.id, name: auth.user.name },
      body.document,
      body.message,
      actorOf(auth),
    );
    res.status(created ? 201 : 200).json({ flow: flowView(flow), version: versionView(version), created });
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
    res.json((await ctx.repo.listVersions(flow.id)).map(versionView));
  });

  r.get('/flows/:id/versions/:n', async (req, res) => {
    const auth = allow(res, 'read');
    const n = parseRequest(versionNumber, req.params['n'], 'version number');
    const { version } = await ctx.flows.getVersion(auth.workspace.id, param(req, 'id'), n);
    res.json({ version: versionView(version), document: ctx.flows.current(version.document) });
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
    res.status(201).json({ flow: flowView(flow), version: versionView(version) });
  });

  r.get('/flows/:id/diff', async (req, res) => {
    const auth = allow(res, 'read');
    const q = parseRequest(diffQuery, req.query, 'query');
    res.json(await ctx.flows.diff(auth.workspace.id, param(req, 'id'), q.from, q.to));
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
    res.status(202).json({ runId: started.runId, flowVersion: started.flowVersion });
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
    res.json(runs.map(runSummary));
  });

  r.get('/runs/:id', async (req, res) => {
    const auth = allow(res, 'read');
    const { record, state } = await ctx.runs.state(auth.workspace.id, param(req, 'id'));
    res.json({ run: state, ...runSummary(record) });
  });

  r.get('/runs/:id/events', async (req, res) => {
    const auth = allow(res, 'read');
    const q = parseRequest(eventsQuery, req.query, 'query');
    res.json(await ctx.runs.events(auth.workspace.id, param(req, 'id'), q.after));
  });

  r.post('/runs/:id/cancel', async (req, res) => {
    const auth = allow(res, 'run.start');
    await ctx.runs.cancel(auth.workspace.id, param(req, 'id'), actorOf(auth));
    res.status(202).json({ ok: true });
  });

  r.post('/runs/:id/rerun', async (req, res) => {
    const auth = allow(res, 'run.start');
    const started = await ctx.runs.rerun(auth.workspace.id, param(req, 'id'), actorOf(auth));
    await started.stored;
    res.status(202).json({ runId: started.runId, flowVersion: started.flowVersion });
  });

  return r;
}
