/**
 * The endpoint rate limit shared by every API server (queue mode): the same token bucket as rate-limit.ts, kept
 * in Redis and updated by one Lua script, so N servers behind a load balancer allow the limit once, not N times.
 */
import type { Redis } from 'ioredis';
import type { Take } from '../rate-limit.js';

// KEYS[1] bucket; ARGV capacity, window ms, now ms. A hash {tokens, updated}; expires once it would be full again.
const TAKE = `
local capacity = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local rate = capacity / window
local b = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(b[1])
local updated = tonumber(b[2])
if tokens == nil then
  tokens = capacity
else
  tokens = math.min(capacity, tokens + math.max(0, now - updated) * rate)
end
local ok = 0
if tokens >= 1 then
  tokens = tokens - 1
  ok = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now))
redis.call('PEXPIRE', KEYS[1], window)
if ok == 1 then return {1, math.floor(tokens)} end
return {0, math.ceil((1 - tokens) / rate)}
`;

export class SharedTokenBuckets {
  private sha: string | undefined;

  constructor(private readonly redis: Redis) {}

  async take(key: string, capacity: number, windowMs: number): Promise<Take> {
    const args = [String(capacity), String(windowMs), String(Date.now())];
    const bucket = `finflow:rl:${key}`;
    let result: unknown;
    try {
      this.sha ??= (await this.redis.script('LOAD', TAKE)) as string;
      result = await this.redis.evalsha(this.sha, 1, bucket, ...args);
    } catch (err) {
      // Redis restarted and forgot the script: load it again once.
      if (!(err instanceof Error) || !err.message.includes('NOSCRIPT')) throw err;
      this.sha = (await this.redis.script('LOAD', TAKE)) as string;
      result = await this.redis.evalsha(this.sha, 1, bucket, ...args);
    }
    const [ok, n] = result as [number, number];
    return ok === 1 ? { ok: true, remaining: n } : { ok: false, retryAfterMs: n };
  }
}
