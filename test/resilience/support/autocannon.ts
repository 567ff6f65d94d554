/**
 * autocannon ships no type declarations; this is the part of its API (README, "API") the load test uses, typed.
 */
import { createRequire } from 'node:module';

export interface AutocannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Called right before the request is written (pipelining 1): mutate and return it. */
  setupRequest?: (request: AutocannonRequest, context: Record<string, unknown>) => AutocannonRequest;
  onResponse?: (status: number, body: string, context: Record<string, unknown>, headers: Record<string, string>) => void;
}

export interface Histogram {
  readonly average: number;
  readonly mean: number;
  readonly stddev: number;
  readonly min: number;
  readonly max: number;
  readonly total: number;
  readonly p50: number;
  readonly p90: number;
  readonly p97_5: number;
  readonly p99: number;
}

export interface AutocannonResult {
  readonly duration: number;
  readonly requests: Histogram;
  readonly latency: Histogram;
  readonly errors: number;
  readonly timeouts: number;
  readonly non2xx: number;
  readonly statusCodeStats: Record<string, { count: number }>;
}

export interface AutocannonOptions {
  url: string;
  connections?: number;
  duration?: number;
  pipelining?: number;
  timeout?: number;
  requests: AutocannonRequest[];
}

type Autocannon = (options: AutocannonOptions) => Promise<AutocannonResult> & { stop(): void };

export const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
