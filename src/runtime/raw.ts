/**
 * The onnxruntime session under each {@link PoseSession}, for benchmarks that time a bare
 * `session.run` on the very session the estimator uses (identical sessions in one process
 * differ by a few percent per run). Not part of the public API.
 * @module
 */
import type * as ort from 'onnxruntime-web';
import type { PoseSession } from './session.ts';

export const rawSessions = new WeakMap<PoseSession, ort.InferenceSession>();
