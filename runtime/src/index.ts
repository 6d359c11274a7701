/** @finflow/runtime: flow documents, validation, the DAG executor, run events and stores. */
export * from './document.js';
export * from './errors.js';
export * from './events.js';
export * from './executor.js';
export * from './expressions.js';
export * from './invoke.js';
export * from './json-schema.js';
export * from './node.js';
export * from './ports.js';
export * from './problems.js';
export * from './registry.js';
export * from './store.js';
export * from './validate.js';
export * from './catalog.js';
export * from './connections.js';
