/**
 * The Express application: security headers, request metrics and logs, health and metrics, the session API
 * under /api, published endpoints under /v1, the editor's static files with an SPA fallback, and one error
 * handler that answers JSON for everything.
 */
import { existsSync } from 'node:fs';
import type { RequestListener } from 'node:http';
import { join } from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import { FlowInputError, FlowValidationError } from '@finflow/runtime';
import type { AppContext } from './context.js';
import { type ErrorBody, forbidden, HttpError, unauthorized } from './errors.js';
import {
  ConflictError,
  DomainError,
  ForbiddenError,
  InvalidError,
  NotFoundError,
  TooManyAttemptsError,
  UnauthenticatedError,
  UnprocessableError,
} from './services/errors.js';
import { jsonBody } from './security/json-body.js';
import { safeEqual } from './security/crypto.js';
import { accountRoutes, memberRoutes, publicAuthRoutes } from './routes/auth.js';
import { readCookie } from './routes/common.js';
import { evaluationRoutes } from './routes/evaluations.js';
import { learningRoutes } from './routes/learning.js';
import { federatedHolderRoutes, federatedRoutes } from './routes/federated.js';
import { flowRoutes } from './routes/flows.js';
import { programmeRoutes } from './routes/programme.js';
import { manageRoutes } from './routes/manage.js';
import { rolloutRoutes } from './routes/rollouts.js';
import { endpointCall, sendJson, type EndpointCall } from './routes/endpoint-call.js';
import { publicRoutes } from './routes/public.js';
import { reviewRoutes } from './routes/reviews.js';
import { StorageUnavailable } from './repo/errors.js';
import { SESSION_COOKIE, type AccountContext } from './services/auth.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Helmet's headers, computed once: every directive here is static, so instead of helmet's chain of a dozen
 * middlewares per request, the headers it sets are recorded at start and set in one step.
 */
export function securityHeaders(): [string, string][] {
  const middleware = helmet({
    contentSecurityPolicy: {
      directives: {
        'script-src': ["'self'"],
        'worker-src': ["'self'", 'blob:'],
        'img-src': ["'self'", 'data:', 'blob:'],
        'connect-src': ["'self'"],
        // Plain-HTTP deployments (the default on 127.0.0.1) would break if the browser upgraded requests.
        'upgrade-insecure-requests': null,
      },
    },
  });
  const headers = new Map<string, string>();
  const res = {
    setHeader: (name: string, value: string | number | readonly string[]) => headers.set(name, String(value)),
    removeHeader: (name: string) => headers.delete(name),
    getHeader: (name: string) => headers.get(name),
  };
  let failed: unknown;
  middleware({ headers: {} } as never, res as never, (err?: unknown) => (failed = err));
  if (failed) throw failed instanceof Error ? failed : new Error(String(failed));
  return [...headers];
}

function routeLabel(req: Request): string {
  const route = (req as Request & { route?: { path?: unknown } }).route;
  if (route && typeof route.path === 'string') return `${req.baseUrl}${route.path}`;
  if (req.path.startsWith('/api/') || req.path.startsWith('/v1/')) return 'unmatched';
  return 'static';
}

/** Records a finished request: latency and count by method, route pattern and status, and a log line. */
function requestRecorder(ctx: AppContext) {
  return (method: string, route: string, status: number, seconds: number) => {
    ctx.metrics.httpDuration.labels(method, route).observe(seconds);
    ctx.metrics.httpRequests.labels(method, route, String(status)).inc();
    // Endpoint calls that succeed are counted in the metrics and recorded in the audit log; one log line
    // each would only repeat that, so they log at debug. Everything else, and every failure, logs at info.
    const level =
      status >= 500
        ? 'error'
        : status < 400 && (route === 'static' || route.startsWith('/v1/'))
          ? 'debug'
          : 'info';
    if (ctx.logger.isLevelEnabled(level)) {
      ctx.logger[level]({ method, route, status, ms: Math.round(seconds * 1e5) / 100 }, 'request');
    }
  };
}

/** The HTTP status of a domain error, by its class. */
export function domainStatus(err: DomainError): number {
  if (err instanceof InvalidError) return 400;
  if (err instanceof UnauthenticatedError) return 401;
  if (err instanceof ForbiddenError) return 403;
  if (err instanceof NotFoundError) return 404;
  if (err instanceof ConflictError) return 409;
  if (err instanceof UnprocessableError) return 422;
  if (err instanceof TooManyAttemptsError) return 429;
  return 500;
}

/** The JSON error answer for anything a route threw: never a stack trace, never HTML. */
export function errorAnswer(
  ctx: AppContext,
  err: unknown,
  method: string,
  route: string,
): { status: number; body: ErrorBody; headers?: Record<string, string> | undefined } {
  if (err instanceof HttpError) return { status: err.status, body: err.body(), headers: err.headers };
  if (err instanceof DomainError) {
    const status = domainStatus(err);
    if (status >= 500) ctx.logger.error({ code: err.code, method, route }, err.message);
    const error = err.details
      ? { code: err.code, message: err.message, details: err.details }
      : { code: err.code, message: err.message };
    return {
      status,
      body: { error },
      headers:
        err instanceof TooManyAttemptsError
          ? { 'Retry-After': String(Math.max(1, Math.ceil(err.retryAfterMs / 1000))) }
          : undefined,
    };
  }
  // Express decodes path parameters; malformed percent-encoding is the client's mistake.
  if (err instanceof URIError)
    return {
      status: 400,
      body: { error: { code: 'INVALID_URL', message: 'the URL holds malformed percent-encoding' } },
    };
  if (err instanceof FlowInputError)
    return {
      status: 400,
      body: { error: { code: 'INVALID_INPUT', message: err.message, details: { fields: err.errors } } },
    };
  if (err instanceof FlowValidationError)
    return {
      status: 422,
      body: { error: { code: 'INVALID_FLOW', message: err.message, details: { problems: err.problems } } },
    };
  if (
    typeof err === 'object' &&
    err !== null &&
    'type' in err &&
    (err as { type: unknown }).type === 'entity.too.large'
  )
    return {
      status: 413,
      body: { error: { code: 'BODY_TOO_LARGE', message: 'the request body is too large' } },
    };
  if (err instanceof StorageUnavailable) {
    ctx.logger.warn({ method, route, reason: err.message }, 'database unavailable');
    return {
      status: 503,
      headers: { 'retry-after': '1' },
      body: { error: { code: err.code, message: 'the database is unavailable; retry shortly' } },
    };
  }
  ctx.logger.error({ err, method, route }, 'request failed');
  return {
    status: 500,
    body: { error: { code: 'INTERNAL', message: 'an internal error occurred; it has been logged' } },
  };
}

const ENDPOINT_ROUTE = '/v1/endpoints/:slug';
const ENDPOINT_PREFIX = '/v1/endpoints/';

/**
 * The server's request listener: published endpoint calls (`POST /v1/endpoints/<slug>`, the path other systems
 * call at volume) go straight to their handler, with the same security headers, metrics, logs and JSON errors
 * as through Express but without walking its middleware chain; everything else goes to the Express app.
 */
export function createRequestHandler(ctx: AppContext): RequestListener {
  const base = securityHeaders().flat();
  const call = endpointCall(ctx, base);
  const app = createApp(ctx, call);
  const recordRequest = requestRecorder(ctx);
  return (req, res) => {
    const url = req.url ?? '';
    if (req.method !== 'POST' || !url.startsWith(ENDPOINT_PREFIX)) {
      app(req, res);
      return;
    }
    const q = url.indexOf('?', ENDPOINT_PREFIX.length);
    const rawSlug = url.slice(ENDPOINT_PREFIX.length, q < 0 ? undefined : q);
    let slug: string;
    try {
      slug = decodeURIComponent(rawSlug);
    } catch {
      slug = '';
    }
    // Anything else under /v1/endpoints/ (sub-paths, odd encodings) takes the ordinary route.
    if (!slug || rawSlug.includes('/')) {
      app(req, res);
      return;
    }
    let mode: string | undefined;
    if (q >= 0) {
      const modes = new URLSearchParams(url.slice(q + 1)).getAll('mode');
      if (modes.length === 1) mode = modes[0];
    }
    // The security headers go out with the answer (sendJson), not one setHeader each.
    const t0 = performance.now();
    res.once('finish', () =>
      recordRequest('POST', ENDPOINT_ROUTE, res.statusCode, (performance.now() - t0) / 1000),
    );
    call(req, res, slug, mode).catch((err: unknown) => {
      if (res.headersSent) {
        res.end();
        return;
      }
      const answer = errorAnswer(ctx, err, 'POST', ENDPOINT_ROUTE);
      for (const [k, v] of Object.entries(answer.headers ?? {})) res.setHeader(k, v);
      sendJson(res, answer.status, answer.body, base);
    });
  };
}

export function createApp(
  ctx: AppContext,
  call: EndpointCall = endpointCall(ctx, securityHeaders().flat()),
): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // API answers are dynamic JSON; hashing every body for an ETag costs time and saves nothing.
  app.set('etag', false);
  app.set('trust proxy', ctx.config.trustProxy);

  const headers = securityHeaders();
  const recordRequest = requestRecorder(ctx);
  app.use((req, res, next) => {
    for (const [name, value] of headers) res.setHeader(name, value);
    const t0 = performance.now();
    res.once('finish', () => {
      recordRequest(req.method, routeLabel(req), res.statusCode, (performance.now() - t0) / 1000);
    });
    next();
  });

  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });

  app.get('/readyz', async (_req, res) => {
    if (!ctx.state.ready || ctx.state.shuttingDown) {
      res.status(503).json({ ok: false, reason: ctx.state.shuttingDown ? 'shutting down' : 'starting' });
      return;
    }
    try {
      await ctx.repo.ping();
      res.json({ ok: true });
    } catch {
      res.status(503).json({ ok: false, reason: 'database unavailable' });
    }
  });

  // The metrics name every workspace's endpoint slugs: off unless an operator sets a token to scrape them with.
  app.get('/metrics', async (req, res) => {
    const token = ctx.config.metricsToken;
    if (!token)
      throw new HttpError(404, 'METRICS_OFF', 'metrics are off; set FINFLOW_METRICS_TOKEN to scrape them');
    if (!safeEqual(req.headers.authorization ?? '', `Bearer ${token}`))
      throw new HttpError(401, 'UNAUTHENTICATED', 'metrics need the metrics token', undefined, {
        'WWW-Authenticate': 'Bearer',
      });
    res.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  });

  // Published endpoints first: the hot path should not walk past the session API's layers.
  app.use(publicRoutes(ctx, call));
  app.use(federatedHolderRoutes(ctx));

  const api = express.Router();
  api.use(jsonBody(ctx.config.apiMaxBodyBytes, ctx.config.jsonMaxDepth));
  api.use(async (req, res, next) => {
    const token = readCookie(req.headers.cookie, SESSION_COOKIE);
    if (token) {
      const account = await ctx.auth.authenticate(token);
      if (account) res.locals['account'] = account;
    }
    next();
  });
  api.use(publicAuthRoutes(ctx));
  // Everything below needs a session, and a CSRF token for writes (the cookie alone could come from another site).
  api.use((req, res, next) => {
    const account = res.locals['account'] as AccountContext | undefined;
    if (!account) throw unauthorized();
    if (!SAFE_METHODS.has(req.method)) {
      const header = req.headers['x-csrf-token'];
      if (typeof header !== 'string' || !safeEqual(header, account.session.csrfToken)) {
        throw forbidden('send the X-CSRF-Token header from /api/auth/me with every write', 'CSRF_FAILED');
      }
    }
    next();
  });
  // The account's own routes work in no workspace too; everything after them acts in the session's workspace.
  api.use(accountRoutes(ctx));
  api.use(memberRoutes(ctx));
  api.use(flowRoutes(ctx));
  api.use(manageRoutes(ctx));
  // Before the rollout routes: /rollouts/board is not a rollout id.
  api.use(programmeRoutes(ctx));
  api.use(rolloutRoutes(ctx));
  api.use(federatedRoutes(ctx));
  api.use(reviewRoutes(ctx));
  api.use(evaluationRoutes(ctx));
  api.use(learningRoutes(ctx));
  app.use('/api', api);

  app.use(['/api', '/v1', '/socket.io'], (req, _res, next) => {
    next(new HttpError(404, 'NOT_FOUND', `no route ${req.method} ${req.baseUrl}${req.path}`));
  });

  const editorDir = ctx.config.editorDir;
  const index = join(editorDir, 'index.html');
  if (existsSync(index)) {
    app.use(express.static(editorDir, { index: false, maxAge: '1h', fallthrough: true }));
    app.use((req, res, next) => {
      if ((req.method !== 'GET' && req.method !== 'HEAD') || !req.accepts('html')) {
        next();
        return;
      }
      res.setHeader('Cache-Control', 'no-cache');
      res.sendFile(index);
    });
  } else {
    app.get('/', (_req, res) => {
      res.json({
        name: 'FinFlow',
        api: '/api',
        editor: 'not built: run `npm run build -w @finflow/editor` (or `npm start`, which builds it)',
      });
    });
  }

  app.use((req, _res, next) => {
    next(new HttpError(404, 'NOT_FOUND', `no route ${req.method} ${req.path}`));
  });

  app.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      // A streamed answer (SSE) already started: all that is left is to end it.
      res.end();
      next();
      return;
    }
    const answer = errorAnswer(ctx, err, req.method, routeLabel(req));
    for (const [k, v] of Object.entries(answer.headers ?? {})) res.setHeader(k, v);
    res.status(answer.status).json(answer.body);
  });

  return app;
}
