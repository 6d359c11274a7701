/**
 * Live run events over socket.io. A browser connects with its session cookie (same origin only); it subscribes
 * to a run of its current workspace and receives the events after the seq it last saw (replay), then every new
 * one as it happens. A run of another workspace is answered as not found.
 */
import { runSubscribeMessage, runUnsubscribeMessage, type SubscribeAck } from '@finflow/contract';
import type { Server as HttpServer } from 'node:http';
import { Server, type Socket } from 'socket.io';
import type { AppContext } from './context.js';
import { HttpError } from './errors.js';
import { readCookie } from './routes/common.js';
import { SESSION_COOKIE, type AuthContext } from './services/auth.js';

type Ack = (answer: SubscribeAck) => void;

interface SocketData {
  auth: AuthContext;
  subscriptions: Map<string, () => void>;
}

const MAX_SUBSCRIPTIONS = 100;

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

export function attachSockets(ctx: AppContext, httpServer: HttpServer): Server {
  const io = new Server(httpServer, {
    path: '/socket.io',
    serveClient: false,
    maxHttpBufferSize: 64 * 1024,
    allowRequest: (req, callback) => {
      const ok = originAllowed(ctx, req.headers.origin, req.headers.host);
      callback(ok ? null : 'origin not allowed', ok);
    },
  });

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
        const data: SocketData = { auth, subscriptions: new Map() };
        socket.data = data;
        next();
      },
      (err: unknown) => {
        ctx.logger.error({ err }, 'socket authentication failed');
        next(new Error('INTERNAL'));
      },
    );
  });

  io.on('connection', (socket: Socket) => {
    const data = socket.data as SocketData;

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
        // Acknowledge before the replay, so the client knows the events that follow belong to this subscription.
        let acked = false;
        const queued: unknown[] = [];
        const stop = await ctx.runs.subscribe(data.auth.workspace.id, runId, afterSeq, (event) => {
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
        if (err instanceof HttpError) reply({ ok: false, error: { code: err.code, message: err.message } });
        else {
          ctx.logger.error({ err }, 'run subscription failed');
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
    });
  });

  return io;
}
