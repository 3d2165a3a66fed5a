/**
 * The browser entry of srpose (`dist/browser/srpose.mjs`): the library plus
 * {@link createWorkerEstimator}, which runs it in a web worker, and {@link drawPoses}, which
 * draws the people found on a canvas.
 * @module
 */
export * from './mod.ts';
export { createWorkerEstimator, type WorkerOptions } from './worker/client.ts';
export { COCO_SKELETON, drawPoses, type DrawPosesOptions } from './image/draw.ts';
