/**
 * The person detector in front of top-down pose models: a YOLOX model (`srpose-detector/1`
 * contract, models/export_yolox.py or an official / mmdeploy ONNX file with a contract) loaded
 * like a pose model, its image letterboxed as YOLOX's `ValTransform` does, its output decoded
 * and NMS'd as the official `postprocess` (`src/core/detection.ts`), persons only.
 * @module
 */
import {
  batchedNms,
  type Candidates,
  yoloxCandidates,
  type YoloxOutput,
} from '../core/detection.ts';
import { letterbox, letterboxSize } from '../core/letterbox.ts';
import { discard, Float32Pool } from '../core/buffer-pool.ts';
import { DEFAULT_DETECTION_SCORE, DEFAULT_MAX_BOXES, DEFAULT_MAX_PIXELS } from '../defaults.ts';
import { SRPoseError, stopIfAborted } from '../errors.ts';
import { readImage, type RgbImage } from '../image/input.ts';
import { type DetectorConfig, parseDetectorConfig } from '../model/config.ts';
import type { ModelSource } from '../model/source.ts';
import type { OutputData, PoseSession } from '../runtime/pose-session.ts';
import type { Detection, DetectionSettings, DetectorInfo, ImageInput } from '../types.ts';
import { asyncDispose } from './dispose.ts';
import { openModel, type OpenOptions } from './open.ts';
import { checkDetectionSettings } from './options.ts';

const f = Math.fround;

/** A box by its corners, in letterbox pixels, and its score. */
type Box4 = { x1: number; y1: number; x2: number; y2: number; score: number };
const now = () => performance.now();

/** Options of {@link createDetector}. */
export interface DetectorOptions extends OpenOptions, DetectionSettings {
  /** A Hub id, a directory with a detector's `srpose.json` + ONNX, its URL, or the bytes. */
  model: ModelSource;
  /** Largest image accepted (pixels). Default 40 MP. */
  maxPixels?: number;
}

/** What {@link Detector.detect} returns. */
export interface DetectResult {
  people: Detection[];
  /** ms: image decode, letterbox, `session.run`, decode + NMS, total. */
  timings: {
    decode: number;
    letterbox: number;
    inference: number;
    postprocess: number;
    total: number;
  };
}

/** A loaded person detector. */
export interface Detector {
  readonly info: DetectorInfo;
  /** Detects the people in an image (bytes or pixels). */
  detect(image: ImageInput, options?: { signal?: AbortSignal }): Promise<DetectResult>;
  dispose(): Promise<void>;
}

/** A detector as the pose estimator runs it: on pixels it has already decoded. */
export interface PixelDetector extends Detector {
  detectPixels(img: RgbImage, signal?: AbortSignal): Promise<DetectResult>;
}

/** The settings checked: numbers in range, or `INVALID_OPTION`. */
export function detectionSettings(
  s: DetectionSettings,
  config: DetectorConfig,
): Required<DetectionSettings> {
  checkDetectionSettings(s);
  return {
    scoreThreshold: s.scoreThreshold ?? DEFAULT_DETECTION_SCORE,
    nmsThreshold: s.nmsThreshold ?? config.decode.nmsThreshold,
    maxPeople: s.maxPeople ?? DEFAULT_MAX_BOXES,
  };
}

/**
 * Loads a person detector.
 *
 * ```ts
 * const detector = await createDetector({ model: './models/yolox_nano' });
 * const { people } = await detector.detect(jpegBytes); // [{ box: [x, y, w, h], score }]
 * ```
 */
export async function createDetector(options: DetectorOptions): Promise<PixelDetector> {
  if (!options || options.model === undefined) {
    throw new SRPoseError('INVALID_OPTION', 'createDetector needs { model }');
  }
  const { model, session, load } = await openModel(options.model, options, parseDetectorConfig);
  try {
    return new YoloxDetector(
      model.config,
      session,
      {
        location: model.location,
        weights: model.weights,
        graph: model.fixedBatch === undefined ? 'exported' : 'prepared',
      },
      detectionSettings(options, model.config),
      options.maxPixels ?? DEFAULT_MAX_PIXELS,
      load,
    );
  } catch (e) {
    await session.release();
    throw e;
  }
}

class YoloxDetector implements PixelDetector {
  readonly info: DetectorInfo;
  #session: PoseSession | undefined;
  readonly #config: DetectorConfig;
  readonly #maxPixels: number;
  readonly #inputs = new Float32Pool(); // letterboxed inputs, reused once their run is over

  constructor(
    config: DetectorConfig,
    session: PoseSession,
    origin: Pick<DetectorInfo, 'location' | 'weights' | 'graph'>,
    settings: Required<DetectionSettings>,
    maxPixels: number,
    load: DetectorInfo['load'],
  ) {
    this.#config = config;
    this.#session = session;
    this.#maxPixels = maxPixels;
    this.info = Object.freeze({
      model: config.name,
      arch: config.arch,
      ...origin,
      backend: session.backend,
      input: { width: config.input.width, height: config.input.height },
      ...settings,
      load,
    });
  }

  async detect(image: ImageInput, options: { signal?: AbortSignal } = {}): Promise<DetectResult> {
    const t0 = now();
    const img = await readImage(image, this.#maxPixels);
    const r = await this.detectPixels(img, options.signal);
    if (img.owned) discard(img.data); // freed now, not at the GC's next run (see discard)
    r.timings.decode = now() - t0 - r.timings.total;
    r.timings.total = now() - t0;
    return r;
  }

  /** {@link detect} on pixels already decoded (the pose estimator's). */
  async detectPixels(img: RgbImage, signal?: AbortSignal): Promise<DetectResult> {
    const session = this.#session;
    if (!session) throw new SRPoseError('DISPOSED', 'this detector was disposed');
    stopIfAborted(signal);
    const c = this.#config;
    const { width, height, legacy } = c.input;
    const t0 = now();
    const empty = (): DetectResult => ({
      people: [],
      timings: { decode: 0, letterbox: 0, inference: 0, postprocess: 0, total: now() - t0 },
    });
    // an image so thin that one side scales to no pixel (the official code fails in cv2)
    const fit = letterboxSize(img.width, img.height, width, height);
    if (fit.width < 1 || fit.height < 1) return empty();
    const input = this.#inputs.acquire(3 * width * height);
    let outputs: Awaited<ReturnType<PoseSession['runOutputs']>>;
    let t1: number;
    try {
      letterbox(img.data, img.width, img.height, 3, { width, height, legacy, out: input });
      t1 = now();
      outputs = await session.runOutputs(input, [1, 3, height, width]);
    } finally {
      this.#inputs.release(input);
    }
    const t2 = now();
    const found = c.onnx.outputFormat === 'mmdeploy-end2end'
      ? this.#endToEnd(outputs)
      : this.#yolox(outputs);
    // boxes / ratio in float32 (a float32 tensor divided by a Python float), not clipped
    const r = f(fit.ratio);
    const people: Detection[] = [];
    for (const { x1, y1, x2, y2, score } of found) {
      const [a, b, cc, d] = [x1, y1, x2, y2].map((v) => f(v / r));
      // a box without area cannot be cropped (one wholly outside the image is kept, as the
      // official boxes are not clipped: the pose estimator leaves it out)
      if (!(cc > a && d > b)) continue;
      people.push({ box: [a, b, cc - a, d - b], score });
      if (people.length === this.info.maxPeople) break;
    }
    const t3 = now();
    return {
      people,
      timings: {
        decode: 0,
        letterbox: t1 - t0,
        inference: t2 - t1,
        postprocess: t3 - t2,
        total: t3 - t0,
      },
    };
  }

  /** The graph's output `name`, which must be float32. */
  #output(outputs: Record<string, { data: OutputData }>, name: string): Float32Array {
    const t = outputs[name];
    if (!t || !(t.data instanceof Float32Array)) {
      throw new SRPoseError(
        'MODEL_INVALID',
        `the detector's graph has no float32 output ${name} (outputs: ${Object.keys(outputs)})`,
      );
    }
    return t.data;
  }

  /** YOLOX outputs: candidates by score, class-aware NMS, persons (by decreasing score). */
  #yolox(outputs: Record<string, { data: OutputData }>): Box4[] {
    const c = this.#config;
    let cand: Candidates;
    try {
      cand = yoloxCandidates(this.#output(outputs, c.onnx.output), {
        format: c.onnx.outputFormat as YoloxOutput,
        width: c.input.width,
        height: c.input.height,
        strides: c.decode.strides,
        classes: c.classes.count,
        threshold: this.info.scoreThreshold,
      });
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      throw new SRPoseError('MODEL_INVALID', `the detector's output: ${e.message}`, { cause: e });
    }
    const classes = c.decode.classAware ? cand.classes : new Int32Array(cand.classes.length);
    const out: Box4[] = [];
    for (const i of batchedNms(cand.boxes, cand.scores, classes, this.info.nmsThreshold)) {
      if (cand.classes[i] !== c.classes.person) continue;
      const b = cand.boxes.subarray(i * 4, i * 4 + 4);
      out.push({ x1: b[0], y1: b[1], x2: b[2], y2: b[3], score: cand.scores[i] });
    }
    return out;
  }

  /**
   * mmdeploy end-to-end outputs (NMS done in the graph): `dets` rows (x1, y1, x2, y2, score)
   * with at least the score threshold, persons only when the graph has a `labels` output (as
   * rtmlib reads them), by decreasing score.
   */
  #endToEnd(outputs: Record<string, { data: OutputData }>): Box4[] {
    const c = this.#config;
    const dets = this.#output(outputs, c.onnx.output);
    const labels = c.onnx.labels === undefined ? undefined : outputs[c.onnx.labels]?.data;
    if (c.onnx.labels !== undefined && !labels) {
      throw new SRPoseError('MODEL_INVALID', `the detector's graph has no output ${c.onnx.labels}`);
    }
    const threshold = f(this.info.scoreThreshold);
    const out: Box4[] = [];
    for (let i = 0; i < dets.length / 5; i++) {
      const score = dets[i * 5 + 4];
      if (!(score >= threshold)) continue;
      if (labels && Number(labels[i]) !== c.classes.person) continue;
      out.push({
        x1: dets[i * 5],
        y1: dets[i * 5 + 1],
        x2: dets[i * 5 + 2],
        y2: dets[i * 5 + 3],
        score,
      });
    }
    return out.sort((a, b) => b.score - a.score);
  }

  async dispose(): Promise<void> {
    const s = this.#session;
    this.#session = undefined;
    if (s) await s.release();
  }

  /** {@link dispose}, for `await using`. */
  [asyncDispose](): Promise<void> {
    return this.dispose();
  }
}
