/**
 * autocannon runs cut into rounds: one target is measured in several short runs interleaved with the others, and
 * the rounds are merged afterwards. autocannon's own summary of a run cannot be merged (percentiles do not add),
 * so each round is run with `skipAggregateResult`, which returns its latency histogram encoded, and the rounds of
 * one target are merged by `autocannon.aggregateResult` (autocannon README, "aggregateResult").
 */
import { createRequire } from 'node:module';
import type { AutocannonRequest, AutocannonResult } from '../resilience/support/autocannon';

/** What one run returns with `skipAggregateResult: true` (autocannon lib/run.js): raw counts, encoded histograms. */
export interface RawRound {
  readonly latencies: string;
  readonly requests: string;
  readonly throughput: string;
  readonly totalCompletedRequests: number;
  readonly totalRequests: number;
  readonly totalBytes: number;
  readonly samples: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly mismatches: number;
  readonly non2xx: number;
  readonly resets: number;
  readonly statusCodeStats: Record<string, { count: number }>;
  /** Measured wall time of the run, in seconds (two decimals). */
  readonly duration: number;
}

interface RawOptions {
  url: string;
  connections: number;
  duration: number;
  pipelining: number;
  requests: AutocannonRequest[];
  skipAggregateResult: true;
}

interface AutocannonModule {
  (options: RawOptions): Promise<RawRound> & { stop(): void };
  aggregateResult(results: RawRound[], options: { url: string; connections?: number }): AutocannonResult;
}

const autocannon = createRequire(import.meta.url)('autocannon') as AutocannonModule;

export interface RoundTarget {
  readonly method: 'GET';
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * One run against one target. autocannon checks for the end of a run on its one-second sampling tick, so a
 * duration that is not a whole number of seconds runs to the next whole second anyway; callers pass whole seconds.
 */
export function runRound(baseUrl: string, target: RoundTarget, seconds: number, connections: number): Promise<RawRound> {
  return autocannon({
    url: baseUrl,
    connections,
    duration: seconds,
    pipelining: 1,
    requests: [{ method: target.method, path: target.path, headers: { ...target.headers } }],
    skipAggregateResult: true,
  });
}

/** The latency percentiles of several rounds of one target, from their merged histograms. */
export function mergedLatency(baseUrl: string, rounds: readonly RawRound[]): AutocannonResult['latency'] {
  // aggregateResult adds the later rounds' status counts into the first round's object: give it copies.
  return autocannon.aggregateResult(structuredClone([...rounds]), { url: baseUrl }).latency;
}
