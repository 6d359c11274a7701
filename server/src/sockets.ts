/**
 * Live run events over socket.io. A browser connects with its session cookie (same origin only); it subscribes
 * to a run of its current workspace and receives the events after the seq it last saw (replay), then every new
 * one as it happens. A run of another workspace is answered as not found. The session is checked again at every
 * subscription (its workspace and role are those of the moment, not of the connection), and an account's
 * connections are closed when its access shrinks (removed from a workspace, disabled, password changed), so a
 * subscription never outlives the right to it.
 *
 * socket.io loads with the first socket.io request (issue 18: a server that only answers endpoints does not carry
 * it): the HTTP server hands requests and upgrades under /socket.io/ to `LiveSockets`, which imports socket.io and
 * engine.io then, binds them, and passes that request and the ones after it to engine.io. In queue mode it loads
 * at start, since broadcasts from this server reach the sockets of the others through its Redis adapter.
 */
import { runSubscribeMessage, runUnsubscribeMessage, type SubscribeAck } from '@finflow/contract';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Server as EngineServer } from 'engine.io';
import type { Server, Socket } from 'socket.io';
import type { AppContext } from './context.js';
import { HttpError } from './errors.js';
import { readCookie } from './routes/common.js';
import { AuthService, inWorkspace, SESSION_COOKIE } from './services/auth.js';
import { DomainError } from './services/errors.js';
import { limitedParser } from './socket-parser.js';

type Ack = (answer: SubscribeAck) => void;

interface SocketData {
  token: string;
  userId: string;
  subscriptions: Map<string, () => void>;
}

const MAX_SUBSCRIPTIONS = 100;

const EVALUATION_ROOM = 'evaluations:';
/** The room of a workspace's evaluation progress (`evaluation.progress` events). */
export const evaluationRoom = (workspaceId: string) => `${EVALUATION_ROOM}${workspaceId}`;

function originAllowed(ctx: AppContext, origin: string | undefined, host: string | undefined): boolean {
  // Non-browser clients send no Origin; browsers always do, and it must be this server (or an allowed one).
  if (!origin) return true;
  if (ctx.config.allowedOrigins.includes(origin)) return true;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

const SOCKET_PATH = '/socket.io/';

/** What the server keeps of socket.io: where its requests go, its broadcasts, its shutdown. */
export interface LiveSockets {
  /** Whether a request (or an upgrade) is socket.io's. */
  handles(req: IncomingMessage): boolean;
  handleRequest(req: IncomingMessage, res: ServerResponse): void;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** To every connected socket (none are, before socket.io has loaded). */
  emit(event: string, payload: unknown): void;
  /** To the sockets in a room. */
  emitTo(room: string, event: string, payload: unknown): void;
  /** Disconnects every socket and stops socket.io (when it loaded). */
  close(): Promise<void>;
}

export async function attachSockets(ctx: AppContext): Promise<LiveSockets> {
  let io: Server | undefined;
  let engine: EngineServer | undefined;
  let loading: Promise<EngineServer> | undefined;
  let closed = false;
  const load = () =>
    closed
      ? Promise.reject(new Error('the server is shutting down'))
      : (loading ??= Promise.all([import('socket.io'), import('engine.io')]).then(([sio, eio]) => {
          const eng = new eio.Server({
            maxHttpBufferSize: 64 * 1024,
            allowRequest: (req, callback) => {
              const ok = originAllowed(ctx, req.headers.origin, req.headers.host);
              callback(ok ? null : 'origin not allowed', ok);
            },
          });
          io = setUp(
            ctx,
            new sio.Server({ serveClient: false, parser: limitedParser(ctx.config.jsonMaxDepth) }),
          );
          io.bind(eng);
          engine = eng;
          return eng;
        }));
  if (ctx.queue) await load();
  const failed = (err: unknown) => {
    if (!closed) ctx.logger.error({ err }, 'socket.io failed to load');
  };
  return {
    handles: (req) => req.url?.startsWith(SOCKET_PATH) ?? false,
    handleRequest(req, res) {
      if (engine) engine.handleRequest(req, res);
      else
        load().then(
          (eng) => eng.handleRequest(req, res),
          (err: unknown) => {
            failed(err);
            res.statusCode = 503;
            res.end();
          },
        );
    },
    handleUpgrade(req, socket, head) {
      if (engine) engine.handleUpgrade(req, socket, head);
      else
        load().then(
          (eng) => eng.handleUpgrade(req, socket, head),
          (err: unknown) => {
            failed(err);
            socket.destroy();
          },
        );
    },
    emit: (event, payload) => void io?.emit(event, payload),
    emitTo: (room, event, payload) => void io?.to(room).emit(event, payload),
    async close() {
      closed = true;
      await loading?.catch(() => undefined);
      if (!io) return;
      io.disconnectSockets(true);
      const server = io;
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}

/** The connection handlers: authentication, run and evaluation subscriptions, closing on lost access. */
function setUp(ctx: AppContext, io: Server): Server {
  // Queue mode: broadcasts (a reloaded catalog, say) reach the sockets of every server.
  if (ctx.queue) io.adapter(ctx.queue.socketAdapter());

  io.use((socket, next) => {
    const token = readCookie(socket.handshake.headers.cookie, SESSION_COOKIE);
    if (!token) {
      next(new Error('UNAUTHENTICATED'));
      return;
    }
    ctx.auth.authenticate(token).then(
      (auth) => {
        if (!auth) {
          next(new Error('UNAUTHENTICATED'));
          return;
        }
        const data: SocketData = { token, userId: auth.user.id, subscriptions: new Map() };
        socket.data = data;
        next();
      },
      (err: unknown) => {
        ctx.logger.error({ err }, 'socket authentication failed');
        next(new Error('INTERNAL'));
      },
    );
  });

  // The open connections of each account, to close when its access shrinks.
  const byUser = new Map<string, Set<Socket>>();
  ctx.auth.onAccessChanged((userId) => {
    for (const socket of byUser.get(userId) ?? []) socket.disconnect(true);
  });

  io.on('connection', (socket: Socket) => {
    const data = socket.data as SocketData;
    const mine = byUser.get(data.userId) ?? new Set<Socket>();
    byUser.set(data.userId, mine);
    mine.add(socket);

    socket.on('run:subscribe', async (payload: unknown, ack?: Ack) => {
      const reply: Ack = typeof ack === 'function' ? ack : () => {};
      const parsed = runSubscribeMessage.safeParse(payload);
      if (!parsed.success) {
        reply({ ok: false, error: { code: 'INVALID_REQUEST', message: 'send { runId, afterSeq? }' } });
        return;
      }
      const { runId, afterSeq = -1 } = parsed.data;
      if (data.subscriptions.size >= MAX_SUBSCRIPTIONS && !data.subscriptions.has(runId)) {
        reply({
          ok: false,
          error: { code: 'TOO_MANY_SUBSCRIPTIONS', message: `at most ${MAX_SUBSCRIPTIONS} runs at once` },
        });
        return;
      }
      data.subscriptions.get(runId)?.();
      data.subscriptions.delete(runId);
      try {
        const account = await ctx.auth.authenticate(data.token);
        if (!account) {
          reply({
            ok: false,
            error: { code: 'UNAUTHENTICATED', message: 'the session ended; sign in again' },
          });
          socket.disconnect(true);
          return;
        }
        if (!inWorkspace(account)) {
          reply({ ok: false, error: { code: 'RUN_NOT_FOUND', message: `run ${runId} not found` } });
          return;
        }
        // Acknowledge before the replay, so the client knows the events that follow belong to this subscription.
        let acked = false;
        const queued: unknown[] = [];
        const stop = await ctx.runs.subscribe(account.workspace.id, runId, afterSeq, (event) => {
          if (acked) socket.emit('run:event', event);
          else queued.push(event);
        });
        if (socket.disconnected) {
          stop();
          return;
        }
        data.subscriptions.set(runId, stop);
        reply({ ok: true });
        acked = true;
        for (const event of queued) socket.emit('run:event', event);
      } catch (err) {
        if (err instanceof HttpError || err instanceof DomainError)
          reply({ ok: false, error: { code: err.code, message: err.message } });
        else {
          ctx.logger.error({ err }, 'run subscription failed');
          reply({ ok: false, error: { code: 'INTERNAL', message: 'the subscription failed' } });
        }
      }
    });

    // Evaluation progress of the session's workspace (one room per workspace): the workspace and the right to read
    // are those of the moment of subscribing; switching workspace means subscribing again.
    socket.on('evaluations:subscribe', async (_payload: unknown, ack?: Ack) => {
      const reply: Ack = typeof ack === 'function' ? ack : () => {};
      try {
        const account = await ctx.auth.authenticate(data.token);
        if (!account) {
          reply({
            ok: false,
            error: { code: 'UNAUTHENTICATED', message: 'the session ended; sign in again' },
          });
          socket.disconnect(true);
          return;
        }
        if (!inWorkspace(account)) {
          reply({ ok: false, error: { code: 'NO_WORKSPACE', message: 'this session is in no workspace' } });
          return;
        }
        AuthService.require(account, 'read');
        for (const room of socket.rooms) if (room.startsWith(EVALUATION_ROOM)) await socket.leave(room);
        await socket.join(evaluationRoom(account.workspace.id));
        reply({ ok: true });
      } catch (err) {
        if (err instanceof HttpError || err instanceof DomainError)
          reply({ ok: false, error: { code: err.code, message: err.message } });
        else {
          ctx.logger.error({ err }, 'evaluation subscription failed');
          reply({ ok: false, error: { code: 'INTERNAL', message: 'the subscription failed' } });
        }
      }
    });

    socket.on('run:unsubscribe', (payload: unknown, ack?: Ack) => {
      const parsed = runUnsubscribeMessage.safeParse(payload);
      if (parsed.success) {
        data.subscriptions.get(parsed.data.runId)?.();
        data.subscriptions.delete(parsed.data.runId);
      }
      if (typeof ack === 'function') ack({ ok: true });
    });

    socket.on('disconnect', () => {
      for (const stop of data.subscriptions.values()) stop();
      data.subscriptions.clear();
      mine.delete(socket);
      if (mine.size === 0) byUser.delete(data.userId);
    });
  });

  return io;
}
