/**
 * Prometheus metrics (prom-client) on a registry of this server's own, so several servers in one process (tests)
 * do not share counters: HTTP requests and latencies, runs by status and trigger, node durations by type,
 * endpoint calls, database commits, plus the process defaults (memory, event-loop lag).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface Metrics {
  registry: Registry;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  httpDuration: Histogram<'method' | 'route'>;
  runs: Counter<'status' | 'trigger'>;
  runsInFlight: Gauge;
  nodeDuration: Histogram<'type' | 'status'>;
  endpointCalls: Counter<'endpoint' | 'status'>;
  dbCommits: Histogram;
  dbCommitSize: Histogram;
}

export function createMetrics(defaults = true): Metrics {
  const registry = new Registry();
  if (defaults) collectDefaultMetrics({ register: registry, prefix: 'finflow_' });
  const seconds = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
  return {
    registry,
    httpRequests: new Counter({
      name: 'finflow_http_requests_total',
      help: 'HTTP requests by method, route pattern and status',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'finflow_http_request_duration_seconds',
      help: 'HTTP request latency by method and route pattern',
      labelNames: ['method', 'route'],
      buckets: seconds,
      registers: [registry],
    }),
    runs: new Counter({
      name: 'finflow_runs_total',
      help: 'Finished runs by status and trigger',
      labelNames: ['status', 'trigger'],
      registers: [registry],
    }),
    runsInFlight: new Gauge({
      name: 'finflow_runs_in_flight',
      help: 'Runs executing now',
      registers: [registry],
    }),
    nodeDuration: new Histogram({
      name: 'finflow_node_duration_seconds',
      help: 'Node execution time by node type and outcome',
      labelNames: ['type', 'status'],
      buckets: seconds,
      registers: [registry],
    }),
    endpointCalls: new Counter({
      name: 'finflow_endpoint_calls_total',
      help: 'Published endpoint calls by endpoint slug and HTTP status',
      labelNames: ['endpoint', 'status'],
      registers: [registry],
    }),
    dbCommits: new Histogram({
      name: 'finflow_db_commit_duration_seconds',
      help: 'Group-commit transaction time (including fsync)',
      buckets: seconds,
      registers: [registry],
    }),
    dbCommitSize: new Histogram({
      name: 'finflow_db_commit_writes',
      help: 'Writes per group commit',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
      registers: [registry],
    }),
  };
}
