/**
 * The browser entry of srpose (`dist/browser/srpose.mjs`): the library plus
 * {@link createWorkerEstimator}, which runs it in a web worker.
 * @module
 */
export * from './mod.ts';
export { createWorkerEstimator, type WorkerOptions } from './worker/client.ts';
