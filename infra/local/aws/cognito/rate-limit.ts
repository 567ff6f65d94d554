/**
 * Token bucket per key (user pool): Cognito throttles app-client create/update/delete at about 5 requests per
 * second per pool, and the credential workflow's retries exist because of it. Emulated so they run for real.
 */
export class TokenBucket {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  /** `ratePerSecond` 0 disables the limit; the bucket holds one second's worth of requests. */
  constructor(
    private readonly ratePerSecond: number,
    private readonly nowMs: () => number,
  ) {}

  /** Takes a token for `key`; false when the bucket is empty. */
  take(key: string): boolean {
    if (this.ratePerSecond <= 0) return true;
    const now = this.nowMs();
    const b = this.buckets.get(key) ?? { tokens: this.ratePerSecond, at: now };
    b.tokens = Math.min(this.ratePerSecond, b.tokens + ((now - b.at) / 1000) * this.ratePerSecond);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
