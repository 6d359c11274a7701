/**
 * Token buckets for rate limits (per API key and endpoint, per login attempt source): a bucket holds up to
 * `capacity` tokens and refills `capacity` tokens per window, so short bursts pass and a steady rate is capped.
 * In memory: limits are per server process.
 */

interface Bucket {
  tokens: number;
  updated: number;
}

export type Take = { ok: true; remaining: number } | { ok: false; retryAfterMs: number };

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly now: () => number = Date.now) {}

  take(key: string, capacity: number, windowMs: number): Take {
    const now = this.now();
    const rate = capacity / windowMs;
    let b = this.buckets.get(key);
    if (!b) this.buckets.set(key, (b = { tokens: capacity, updated: now }));
    else {
      b.tokens = Math.min(capacity, b.tokens + (now - b.updated) * rate);
      b.updated = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true, remaining: Math.floor(b.tokens) };
    }
    return { ok: false, retryAfterMs: Math.ceil((1 - b.tokens) / rate) };
  }

  /** Gives back a token taken by `take` (the attempt it paid for turned out not to count). */
  refund(key: string, capacity: number): void {
    const b = this.buckets.get(key);
    if (b) b.tokens = Math.min(capacity, b.tokens + 1);
  }

  /** Forgets buckets idle long enough to be full again. */
  prune(maxIdleMs: number): void {
    const cutoff = this.now() - maxIdleMs;
    for (const [key, b] of this.buckets) if (b.updated < cutoff) this.buckets.delete(key);
  }

  get size(): number {
    return this.buckets.size;
  }
}
