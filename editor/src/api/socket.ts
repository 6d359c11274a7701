/**
 * Live run events over socket.io: subscribe to a run, receive every event after the last seq seen (replay) and
 * then new ones as they happen. On reconnect the subscription is renewed from the last seq, so no event is lost.
 */
import { io, type Socket } from 'socket.io-client';
import type { RunEvent } from './types.js';

let socket: Socket | undefined;

function getSocket(): Socket {
  socket ??= io({ path: '/socket.io', withCredentials: true, transports: ['websocket', 'polling'] });
  return socket;
}

export interface RunSubscription {
  close(): void;
}

/**
 * Follows a run. `onEvent` gets each event once, in seq order; `onError` gets a refusal (unknown run, another
 * workspace's run) or a lost connection that cannot be renewed.
 */
export function subscribeRun(
  runId: string,
  onEvent: (e: RunEvent) => void,
  onError: (message: string) => void,
  afterSeq = -1,
): RunSubscription {
  const s = getSocket();
  let lastSeq = afterSeq;
  let closed = false;
  const handler = (e: RunEvent) => {
    if (closed || e.runId !== runId || e.seq <= lastSeq) return;
    lastSeq = e.seq;
    onEvent(e);
  };
  const subscribe = () => {
    s.emit(
      'run:subscribe',
      lastSeq >= 0 ? { runId, afterSeq: lastSeq } : { runId },
      (ack: { ok: boolean; error?: string | { message?: string } } | undefined) => {
        if (closed || !ack || ack.ok) return;
        onError(typeof ack.error === 'string' ? ack.error : (ack.error?.message ?? 'subscription refused'));
      },
    );
  };
  const onConnectError = (err: Error) => {
    if (!closed) onError(err.message);
  };
  s.on('run:event', handler);
  s.on('connect', subscribe);
  s.on('connect_error', onConnectError);
  if (s.connected) subscribe();
  return {
    close() {
      closed = true;
      s.off('run:event', handler);
      s.off('connect', subscribe);
      s.off('connect_error', onConnectError);
      if (s.connected) s.emit('run:unsubscribe', { runId });
    },
  };
}

/** Calls `listener` whenever the server's node types change (a plugin reloaded by `finflow dev`). */
export function onCatalogChanged(listener: () => void): () => void {
  const s = getSocket();
  s.on('catalog.changed', listener);
  return () => {
    s.off('catalog.changed', listener);
  };
}

export interface EvaluationProgressEvent {
  id: string;
  flowId: string;
  status: 'running' | 'succeeded' | 'failed' | 'cancelled' | 'interrupted';
  progress: { done: number; total: number };
}

/**
 * Follows the evaluation progress of the session's workspace (renewed on reconnect: a workspace switch reloads the
 * page, and the server checks the workspace at every subscription).
 */
export function subscribeEvaluations(onProgress: (p: EvaluationProgressEvent) => void): RunSubscription {
  const s = getSocket();
  let closed = false;
  const handler = (p: EvaluationProgressEvent) => {
    if (!closed) onProgress(p);
  };
  const subscribe = () => s.emit('evaluations:subscribe', {}, () => {});
  s.on('evaluation.progress', handler);
  s.on('connect', subscribe);
  if (s.connected) subscribe();
  return {
    close() {
      closed = true;
      s.off('evaluation.progress', handler);
      s.off('connect', subscribe);
    },
  };
}
