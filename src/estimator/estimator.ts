import { boxToCenterScale, validateBoxes } from '../core/boxes.ts';
import { getAffineTransform } from '../core/affine.ts';
import { cropToTensor } from '../core/crop.ts';
import { discard, Float32Pool } from '../core/buffer-pool.ts';
import { normalizeTable } from '../core/normalize.ts';
import { flipIndexFromPairs, mergeFlipped } from '../core/flip.ts';
import {
  type CropFrame,
  decodeDark,
  decodeDefault,
  type DecodedKeypoints,
  decodeSR,
  type Heatmaps,
} from '../core/decode/index.ts';
import {
  DEFAULT_MAX_BATCH,
  DEFAULT_MAX_BOXES,
  DEFAULT_MAX_PIXELS,
  KEYPOINT_SCORE_THRESHOLD,
} from '../defaults.ts';
import { oneOf, SRPoseError, stopIfAborted } from '../errors.ts';
import { setWasmLoader } from '../image/codecs.ts';
import { readImage, type RgbImage } from '../image/input.ts';
import {
  DECODE_METHODS,
  type DecodeMethod,
  parseModelConfig,
  type TopDownModelConfig,
} from '../model/config.ts';
import { openModel } from './open.ts';
import { createDetector, type PixelDetector } from './detector.ts';
import type { ModelSource } from '../model/source.ts';
import type { PoseSession } from '../runtime/pose-session.ts';
import { BottomUpEstimator } from './bottom-up.ts';
import { asyncDispose } from './dispose.ts';
import { checkEstimateOptions, checkEstimatorOptions } from './options.ts';
import { commonInfo, type ModelOrigin, result } from './result.ts';
import type {
  Box,
  EstimateOptions,
  EstimateResult,
  Estimator,
  EstimatorInfo,
  EstimatorOptions,
  ImageInput,
  Person,
} from '../types.ts';

const now = () => performance.now();

/**
 * Loads a model and creates its onnxruntime session.
 *
 * ```ts
 * const estimator = await createEstimator({ model: './models/srpose-res50' });
 * const { people } = await estimator.estimate(jpegBytes, { boxes: [[280, 44, 218, 346]] });
 * ```
 */
export async function createEstimator(options: EstimatorOptions): Promise<Estimator> {
  if (!options || options.model === undefined) {
    throw new SRPoseError('INVALID_OPTION', 'createEstimator needs { model }');
  }
  checkEstimatorOptions(options);
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (!(maxPixels > 0)) {
    throw new SRPoseError('INVALID_OPTION', `maxPixels must be > 0, got ${maxPixels}`);
  }
  const maxBoxes = options.maxBoxes ?? DEFAULT_MAX_BOXES;
  if (!Number.isInteger(maxBoxes) || maxBoxes < 1) {
    throw new SRPoseError('INVALID_OPTION', `maxBoxes must be a positive integer, got ${maxBoxes}`);
  }
  const maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
  const codecs = options.wasmModules?.codecs;
  if (codecs) setWasmLoader((file) => Promise.resolve(codecs[file]));
  const { model, session, load } = await openModel(options.model, options, parseModelConfig);
  try {
    const config = model.config;
    let decode: DecodeMethod | undefined;
    if (config.kind === 'top-down') {
      decode = oneOf(options.decode ?? config.decode.method, DECODE_METHODS, 'decode');
    } else if (options.decode !== undefined) {
      throw new SRPoseError(
        'INVALID_OPTION',
        `decode does not apply to bottom-up models (they group by tags), got ${
          JSON.stringify(options.decode)
        }`,
      );
    }
    const flipTest = options.flipTest ?? config.flipTest.enabled;
    if (config.kind === 'bottom-up') {
      if (options.detector !== undefined) {
        throw new SRPoseError(
          'INVALID_OPTION',
          'a detector does not apply to bottom-up models: they find every person themselves',
        );
      }
      return new BottomUpEstimator(config, session, model, flipTest, { maxPixels }, load);
    }
    return new PoseEstimator(
      config,
      session,
      model,
      flipTest,
      decode!,
      { maxPixels, maxBoxes, maxBatch },
      load,
      // after the pose model: loading both at once took an edge isolate more memory for no
      // time gained (docs/benchmarks.md "Cold start")
      options.detector === undefined ? undefined : await openDetector(options, maxBoxes),
    );
  } catch (e) {
    // an option refused or a detector that fails to load: the session goes with it
    await session.release();
    throw e;
  }
}

/** The estimator's detector, on the pose model's backend, threads and Hub settings. */
function openDetector(options: EstimatorOptions, maxBoxes: number): Promise<PixelDetector> {
  const d = options.detector!;
  const settings = typeof d === 'object' && d !== null && !(d instanceof URL) && 'model' in d
    ? d
    : { model: d as ModelSource };
  const { revision: _, model: __, detector: ___, weights: ____, ...shared } = options;
  return createDetector({
    ...shared,
    ...settings,
    maxPeople: Math.min(settings.maxPeople ?? maxBoxes, maxBoxes),
  });
}

/**
 * One-shot estimate: loads the model, estimates, disposes. For repeated calls keep an
 * {@link Estimator} from {@link createEstimator} instead.
 */
export async function estimate(
  image: ImageInput,
  options: EstimatorOptions & EstimateOptions,
): Promise<EstimateResult> {
  const estimator = await createEstimator(options);
  try {
    return await estimator.estimate(image, options);
  } finally {
    await estimator.dispose();
  }
}

/** The session of each top-down estimator, for benchmarks (bench/backends.ts); not public API. */
export const estimatorSessions = new WeakMap<Estimator, PoseSession>();

/** The top-down pipeline: decode image -> boxes -> crops (one batch) -> run -> decode heatmaps. */
class PoseEstimator implements Estimator {
  readonly info: EstimatorInfo;
  #session: PoseSession | undefined;
  readonly #config: TopDownModelConfig;
  readonly #lut: Float32Array;
  readonly #flipIndex: Int32Array;
  readonly #inputs = new Float32Pool(); // input batches, reused once their run is over
  readonly #limits: { maxPixels: number; maxBoxes: number; maxBatch: number };
  readonly #detector: PixelDetector | undefined;

  constructor(
    config: TopDownModelConfig,
    session: PoseSession,
    origin: ModelOrigin,
    flipTest: boolean,
    decode: DecodeMethod,
    limits: { maxPixels: number; maxBoxes: number; maxBatch: number },
    load: EstimatorInfo['load'],
    detector?: PixelDetector,
  ) {
    this.#config = config;
    this.#detector = detector;
    this.#session = session;
    estimatorSessions.set(this, session);
    this.#lut = normalizeTable(config.input.mean, config.input.std);
    this.#flipIndex = flipIndexFromPairs(config.keypoints.length, config.flipPairs);
    this.#limits = limits;
    this.info = Object.freeze({
      ...commonInfo(config, session, origin, load),
      kind: 'top-down',
      input: { width: config.input.width, height: config.input.height },
      heatmap: { ...config.heatmap },
      flipTest,
      decode,
      ...(detector ? { detector: detector.info } : {}),
    });
  }

  async estimate(image: ImageInput, options: EstimateOptions = {}): Promise<EstimateResult> {
    const session = this.#session;
    if (!session) {
      throw new SRPoseError('DISPOSED', 'this estimator was disposed; create a new one');
    }
    checkEstimateOptions(options);
    const signal = options.signal;
    stopIfAborted(signal);
    const flipTest = options.flipTest ?? this.info.flipTest;
    const t0 = now();
    const img = await readImage(image, this.#limits.maxPixels);
    const t1 = now();
    let detect: number | undefined;
    let given = options.boxes;
    if (given === undefined && this.#detector) {
      const found = await this.#detector.detectPixels(img, signal);
      detect = found.timings.total;
      // a detection wholly outside the image (YOLOX's boxes are not clipped) has nothing to crop
      given = found.people.filter(({ box: [x, y, w, h] }) =>
        x < img.width && y < img.height && x + w > 0 && y + h > 0
      ).map((p): Box => [...p.box, p.score]);
    }
    // a detector that found nobody: nobody to estimate (not the whole image)
    const boxes = given?.length === 0 && options.boxes === undefined ? [] : this.#boxes(given, img);
    const frames = boxes.map((b) =>
      boxToCenterScale(
        b,
        this.#config.input.width,
        this.#config.input.height,
        this.#config.bbox.padding,
        this.#config.bbox.pixelStd,
      )
    );
    const n = boxes.length;
    const k = this.#config.keypoints.length;
    const decoded: DecodedKeypoints = {
      coords: new Float64Array(n * k * 2),
      scores: new Float64Array(n * k),
    };
    // The boxes go through the network a chunk at a time (a flip pair counts two crops), so a
    // request's memory is bounded by the chunk, not by its box count; a caller that gives up
    // stops the work at the next chunk.
    const per = Math.max(1, Math.floor(this.#limits.maxBatch / (flipTest ? 2 : 1)));
    const spent = { crop: 0, inference: 0, postprocess: 0 };
    for (let s = 0; s < n; s += per) {
      stopIfAborted(signal);
      const c = Math.min(per, n - s);
      const chunk = frames.slice(s, s + c);
      const ta = now();
      const input = this.#crops(img, chunk, flipTest);
      const tb = now();
      const { width: iw, height: ih } = this.#config.input;
      let out: Awaited<ReturnType<PoseSession['run']>>;
      try {
        out = await session.run(input, [flipTest ? 2 * c : c, 3, ih, iw]);
      } finally {
        this.#inputs.release(input);
      }
      const tc = now();
      const part = await this.#decode(session, this.#heatmaps(out, c, flipTest), chunk);
      session.freeOutput?.(out.data);
      decoded.coords.set(part.coords, s * k * 2);
      decoded.scores.set(part.scores, s * k);
      const td = now();
      spent.crop += tb - ta;
      spent.inference += tc - tb;
      spent.postprocess += td - tc;
    }
    if (img.owned) discard(img.data); // freed now, not at the GC's next run (see discard)
    const people = this.#people(boxes, decoded);
    const t4 = now();
    return result(this.info, session, img, people, flipTest, {
      decode: t1 - t0,
      ...(detect === undefined ? {} : { detect }),
      ...spent,
      total: t4 - t0,
    });
  }

  async dispose(): Promise<void> {
    const s = this.#session;
    this.#session = undefined;
    if (s) await Promise.all([s.release(), this.#detector?.dispose()]);
  }

  /** {@link dispose}, for `await using`. */
  [asyncDispose](): Promise<void> {
    return this.dispose();
  }

  #boxes(boxes: readonly Box[] | undefined, img: RgbImage): Box[] {
    if (boxes === undefined) return [[0, 0, img.width, img.height]];
    validateBoxes(boxes, img.width, img.height, this.#limits.maxBoxes);
    return boxes.slice();
  }

  /** Crops every box (and its mirror for the flip test) into one (n or 2n, 3, h, w) batch. */
  #crops(img: RgbImage, frames: readonly CropFrame[], flip: boolean): Float32Array {
    const { width: w, height: h } = this.#config.input;
    const n = frames.length;
    const per = 3 * w * h;
    const input = this.#inputs.acquire((flip ? 2 : 1) * n * per); // every value is written below
    for (let i = 0; i < n; i++) {
      const m = getAffineTransform(frames[i].center, frames[i].scale, 0, w, h, false);
      cropToTensor(
        img.data,
        img.width,
        img.height,
        m,
        w,
        h,
        this.#lut,
        input,
        i * per,
        flip ? (n + i) * per : -1,
      );
    }
    return input;
  }

  #heatmaps(
    out: { data: Float32Array; dims: readonly number[] },
    n: number,
    flip: boolean,
  ): Heatmaps {
    const k = this.#config.keypoints.length;
    const { width: w, height: h } = this.#config.heatmap;
    const expect = [flip ? 2 * n : n, k, h, w];
    if (out.dims.length !== 4 || out.dims.some((d, i) => d !== expect[i])) {
      throw new SRPoseError(
        'MODEL_INVALID',
        `the model output is [${out.dims}], srpose.json implies [${expect}]`,
      );
    }
    const plain = out.data.subarray(0, n * k * h * w);
    if (flip) {
      mergeFlipped(
        plain,
        out.data.subarray(n * k * h * w),
        n,
        k,
        h,
        w,
        this.#flipIndex,
        this.#config.flipTest.shiftHeatmap,
      );
    }
    return { data: plain, n, k, h, w };
  }

  async #decode(
    session: PoseSession,
    hm: Heatmaps,
    frames: readonly CropFrame[],
  ): Promise<DecodedKeypoints> {
    const { decode, bbox } = this.#config;
    switch (this.info.decode) {
      case 'sr': {
        const pool = decode.poolKernel ?? 16;
        // The band maxima, the decode's one pass over all the heatmaps, natively where possible.
        const bands = hm.h % pool === 0 && hm.w % pool === 0
          ? await session.bandMaxima?.(hm.data, [hm.n, hm.k, hm.h, hm.w], hm.h / pool)
          : undefined;
        return decodeSR(hm, frames, pool, bbox.pixelStd, bands);
      }
      case 'dark':
        return decodeDark(hm, frames, decode.modulateKernel ?? 11, bbox.pixelStd);
      default:
        return decodeDefault(hm, frames, bbox.pixelStd);
    }
  }

  #people(boxes: readonly Box[], d: DecodedKeypoints): Person[] {
    const names = this.#config.keypoints;
    const k = names.length;
    return boxes.map((box, i) => {
      let sum = 0;
      let count = 0;
      const keypoints = names.map((name, j) => {
        const score = d.scores[i * k + j];
        if (score > KEYPOINT_SCORE_THRESHOLD) {
          sum += score;
          count++;
        }
        return { name, x: d.coords[(i * k + j) * 2], y: d.coords[(i * k + j) * 2 + 1], score };
      });
      const boxScore = box.length > 4 ? (box[4] as number) : 1;
      return {
        box: [box[0], box[1], box[2], box[3]],
        score: (count > 0 ? sum / count : 0) * boxScore,
        keypoints,
      };
    });
  }
}
