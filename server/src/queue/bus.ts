/**
 * Live run events across processes (queue mode): the worker executing a run publishes each masked event on the
 * run's Redis channel, and `done` once the execution's writes are committed; API servers follow the channels of
 * the runs someone watches (a socket.io subscriber, an SSE stream, a synchronous endpoint call). Pub/sub is not
 * durable: followers replay from the store (by seq) and re-read the run when they reconnect, so a message lost
 * with a Redis restart delays an answer but loses nothing.
 */
import type { Redis } from 'ioredis';
import type { RunEvent } from '@finflow/runtime';

export type BusMessage = { event: RunEvent } | { done: string } | { cancel: string };

const channelOf = (runId: string) => `finflow:run:${runId}`;
const PREFIX = 'finflow:run:';

interface Follower {
  event?: ((e: RunEvent) => void) | undefined;
  done?: ((status: string) => void) | undefined;
  /** Someone cancelled the run (the worker executing it follows this). */
  cancel?: ((reason: string) => void) | undefined;
}

export class RunBus {
  private readonly followers = new Map<string, Set<Follower>>();
  /** Settles when Redis confirmed the subscription to a followed run's channel. */
  private readonly subscribed = new Map<string, Promise<unknown>>();

  constructor(
    private readonly pub: Redis,
    private readonly sub: Redis,
    private readonly onError: (err: unknown) => void = () => {},
  ) {
    sub.on('message', (channel: string, text: string) => this.deliver(channel, text));
  }

  publishEvent(runId: string, event: RunEvent): void {
    this.send(runId, { event });
  }

  /** The execution's writes are committed: the run finished, waits for a review, or was interrupted. */
  publishDone(runId: string, status: string): void {
    this.send(runId, { done: status });
  }

  /** Asks the worker executing a run to cancel it. */
  publishCancel(runId: string, reason: string): void {
    this.send(runId, { cancel: reason });
  }

  private send(runId: string, message: BusMessage): void {
    // A worker whose Redis is away goes on executing and recording; followers re-read the store.
    this.pub.publish(channelOf(runId), JSON.stringify(message)).catch(this.onError);
  }

  /** Follows a run's channel until the returned function is called. */
  follow(runId: string, follower: Follower): () => void {
    let set = this.followers.get(runId);
    if (!set) {
      this.followers.set(runId, (set = new Set()));
      this.subscribed.set(runId, this.sub.subscribe(channelOf(runId)).catch(this.onError));
    }
    set.add(follower);
    return () => {
      const s = this.followers.get(runId);
      if (!s?.delete(follower) || s.size) return;
      this.followers.delete(runId);
      this.subscribed.delete(runId);
      this.sub.unsubscribe(channelOf(runId)).catch(this.onError);
    };
  }

  /** Resolves once messages on a followed run's channel reach this process (wait before starting the run). */
  async ready(runId: string): Promise<void> {
    await this.subscribed.get(runId);
  }

  get following(): number {
    return this.followers.size;
  }

  private deliver(channel: string, text: string): void {
    if (!channel.startsWith(PREFIX)) return;
    const set = this.followers.get(channel.slice(PREFIX.length));
    if (!set) return;
    let message: BusMessage;
    try {
      message = JSON.parse(text) as BusMessage;
    } catch {
      return;
    }
    for (const f of [...set]) {
      try {
        if ('event' in message) f.event?.(message.event);
        else if ('done' in message) f.done?.(message.done);
        else f.cancel?.(message.cancel);
      } catch (err) {
        this.onError(err);
      }
    }
  }
}
