/**
 * The evaluation library without I/O: metrics, statistics, drift, datasets and the report shape. Server and editor
 * import it as `@finflow/runtime/evaluation` (the editor draws reports with it); the runner, which runs flows, is
 * exported from `@finflow/runtime` only.
 */
export * from './dataset.js';
export * from './drift.js';
export * from './metrics.js';
export * from './report.js';
export * from './stats.js';
