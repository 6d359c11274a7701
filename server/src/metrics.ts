/**
 * Prometheus metrics on a registry of this server's own, so several servers in one process (tests) do not share
 * counters: HTTP requests and latencies, runs by status and trigger, node durations by type, endpoint calls,
 * database commits, plus prom-client's process defaults (memory, event-loop lag).
 *
 * The metrics updated on every request, run and node are kept here rather than in prom-client's metric classes,
 * whose label-bound children still hash their label values on each observation: a child here is bound once and
 * an observation is a few array increments. They are rendered through the same registry, in prom-client's format.
 */
import { collectDefaultMetrics, Gauge, Histogram, Registry, type Metric } from 'prom-client';

/** A histogram bound to its label values. */
export interface Observer {
  observe(value: number): void;
}

/** A counter bound to its label values. */
export interface Increment {
  inc(): void;
}

type MetricValue = { labels: Record<string, string | number>; value: number; metricName?: string };

/** Label values as Prometheus labels, in the order the metric declares them. */
function labelsOf(names: readonly string[], values: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  names.forEach((name, i) => (labels[name] = values[i] ?? ''));
  return labels;
}

/** Children by label values (joined with a separator no label value holds). */
class Children<C> {
  private readonly byKey = new Map<string, C>();

  constructor(private readonly make: (values: readonly string[]) => C) {}

  get(values: readonly string[]): C {
    const key = values.length === 1 ? (values[0] as string) : values.join('\u0000');
    let child = this.byKey.get(key);
    if (!child) this.byKey.set(key, (child = this.make(values)));
    return child;
  }

  values(): IterableIterator<C> {
    return this.byKey.values();
  }

  clear(): void {
    this.byKey.clear();
  }
}

interface HistogramChild extends Observer {
  labels: Record<string, string>;
  counts: Float64Array;
  sum: number;
  count: number;
}

export class LabelledHistogram<L extends string> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly children: Children<HistogramChild>;

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly L[],
    private readonly buckets: readonly number[],
    registry: Registry,
  ) {
    this.children = new Children((values) => {
      const bounds = this.buckets;
      const child: HistogramChild = {
        labels: labelsOf(labelNames, values),
        counts: new Float64Array(bounds.length),
        sum: 0,
        count: 0,
        observe(value: number) {
          if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
          for (let i = 0; i < bounds.length; i++) {
            if (value <= (bounds[i] as number)) {
              (child.counts[i] as number)++;
              break;
            }
          }
          child.sum += value;
          child.count++;
        },
      };
      return child;
    });
    registry.registerMetric(this as unknown as Metric);
  }

  labels(...values: string[]): Observer {
    return this.children.get(values);
  }

  get() {
    const values: MetricValue[] = [];
    for (const c of this.children.values()) {
      let acc = 0;
      this.buckets.forEach((le, i) => {
        acc += c.counts[i] as number;
        values.push({ labels: { le, ...c.labels }, value: acc, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { le: '+Inf', ...c.labels }, value: c.count, metricName: `${this.name}_bucket` });
      values.push({ labels: { ...c.labels }, value: c.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...c.labels }, value: c.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {
    this.children.clear();
  }
}

export class LabelledCounter<L extends string> {
  readonly type = 'counter';
  readonly aggregator = 'sum';
  private readonly children: Children<Increment & { labels: Record<string, string>; value: number }>;

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly L[],
    registry: Registry,
  ) {
    this.children = new Children((values) => {
      const child = {
        labels: labelsOf(labelNames, values),
        value: 0,
        inc: () => void child.value++,
      };
      return child;
    });
    registry.registerMetric(this as unknown as Metric);
  }

  labels(...values: string[]): Increment {
    return this.children.get(values);
  }

  get() {
    const values: MetricValue[] = [];
    for (const c of this.children.values()) values.push({ labels: { ...c.labels }, value: c.value });
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {
    this.children.clear();
  }
}

export interface Metrics {
  registry: Registry;
  httpRequests: LabelledCounter<'method' | 'route' | 'status'>;
  httpDuration: LabelledHistogram<'method' | 'route'>;
  runs: LabelledCounter<'status' | 'trigger'>;
  /** Runs executing now (read when the metrics are collected). */
  runsInFlight: { value: number };
  nodeDuration: LabelledHistogram<'type' | 'status'>;
  endpointCalls: LabelledCounter<'endpoint' | 'status'>;
  dbCommits: Histogram;
  dbCommitSize: Histogram;
}

export function createMetrics(defaults = true): Metrics {
  const registry = new Registry();
  // The event-loop delay histogram samples with a libuv timer; prom-client's default (every 10 ms) woke an idle
  // server 100 times a second and added a wake-up to every fourth call at c=1 (issue 18, round 5). Every 100 ms
  // still catches any stall longer than that.
  if (defaults)
    collectDefaultMetrics({ register: registry, prefix: 'finflow_', eventLoopMonitoringPrecision: 100 });
  const seconds = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
  const runsInFlight = { value: 0 };
  new Gauge({
    name: 'finflow_runs_in_flight',
    help: 'Runs executing now',
    registers: [registry],
    collect() {
      this.set(runsInFlight.value);
    },
  });
  return {
    registry,
    httpRequests: new LabelledCounter(
      'finflow_http_requests_total',
      'HTTP requests by method, route pattern and status',
      ['method', 'route', 'status'],
      registry,
    ),
    httpDuration: new LabelledHistogram(
      'finflow_http_request_duration_seconds',
      'HTTP request latency by method and route pattern',
      ['method', 'route'],
      seconds,
      registry,
    ),
    runs: new LabelledCounter(
      'finflow_runs_total',
      'Finished runs by status and trigger',
      ['status', 'trigger'],
      registry,
    ),
    runsInFlight,
    nodeDuration: new LabelledHistogram(
      'finflow_node_duration_seconds',
      'Node execution time by node type and outcome',
      ['type', 'status'],
      seconds,
      registry,
    ),
    endpointCalls: new LabelledCounter(
      'finflow_endpoint_calls_total',
      'Published endpoint calls by endpoint slug and HTTP status',
      ['endpoint', 'status'],
      registry,
    ),
    dbCommits: new Histogram({
      name: 'finflow_db_commit_duration_seconds',
      help: 'Group-commit time until a batch counts as committed (durability full: including its fsync)',
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
