/**
 * Redis connections for queue mode. Two kinds: BullMQ's (its blocking commands must retry forever, so a worker
 * rides out a Redis restart) and the API server's (rate limits, idempotency keys, events), which fail fast while
 * Redis is away so that no request waits on it past its own timeout.
 */
import { Redis } from 'ioredis';

/** Commands of a request fail after this long without Redis (they are not queued while it is away). */
const COMMAND_TIMEOUT_MS = 2_000;

/** Reconnects every 100 ms at first, backing off to once a second. */
const retryStrategy = (times: number) => Math.min(100 * times, 1_000);

/** A connection for BullMQ (queues and workers). */
export function queueConnection(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, retryStrategy, lazyConnect: false });
}

/** A connection for requests: commands fail fast when Redis is away instead of waiting for it. */
export function requestConnection(url: string): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    commandTimeout: COMMAND_TIMEOUT_MS,
    retryStrategy,
  });
}

/** A connection for subscriptions (it re-subscribes after a reconnect). */
export function subscriberConnection(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, retryStrategy, autoResubscribe: true });
}

/** The first `ready` of a connection, or an error naming the URL's host when it does not come in time. */
export function ready(redis: Redis, timeoutMs = 10_000): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      reject(
        new Error(
          `Redis (${redis.options.host ?? '?'}:${redis.options.port ?? '?'}) did not answer in ${timeoutMs} ms`,
        ),
      );
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    redis.once('ready', onReady);
  });
}

/** Closes a connection without waiting on a Redis that is away. */
export async function closeQuietly(redis: Redis): Promise<void> {
  try {
    if (redis.status === 'ready') await redis.quit();
    else redis.disconnect();
  } catch {
    redis.disconnect();
  }
}
