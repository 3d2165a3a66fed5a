import { discard } from '../core/buffer-pool.ts';
import {
  adjustJoints,
  bottomUpFrame,
  type BottomUpMaps,
  bottomUpMatrix,
  groupedToImage,
  matchByTag,
  mergeFlipBottomUp,
  personScores,
  refinePeople,
  splitOutput,
  topKCandidates,
} from '../core/bottomup/index.ts';
import { flipIndexFromPairs } from '../core/flip.ts';
import { normalizeTable } from '../core/normalize.ts';
import { cropToTensor } from '../core/crop.ts';
import { SRPoseError, stopIfAborted } from '../errors.ts';
import { readImage } from '../image/input.ts';
import type { BottomUpModelConfig } from '../model/config.ts';
import { commonInfo, type ModelOrigin, result } from './result.ts';
import { checkEstimateOptions } from './options.ts';
import { asyncDispose } from './dispose.ts';
import type { PoseSession } from '../runtime/pose-session.ts';
import type {
  EstimateOptions,
  EstimateResult,
  Estimator,
  EstimatorInfo,
  ImageInput,
  Person,
} from '../types.ts';

const now = () => performance.now();

/**
 * The largest network input, in multiples of `input.size` squared (512 x 2048 for size 512):
 * the output holds 2K float maps at the input's resolution (twice with the flip test), so a
 * very elongated image would otherwise cost gigabytes.
 */
export const BOTTOM_UP_MAX_INPUT_AREA = 4;

/**
 * The bottom-up pipeline, as the official `BottomUp.forward_test` (one scale): decode image ->
 * resize the whole image (short side to `input.size`) -> run (with its mirror, one batch of 2,
 * under the flip test) -> flip merge -> NMS + top-k -> group by tags -> adjust, score, refine
 * -> back to image pixels. People come out in the official order (the order they were started
 * in), each with the official score.
 */
export class BottomUpEstimator implements Estimator {
  readonly info: EstimatorInfo;
  #session: PoseSession | undefined;
  readonly #config: BottomUpModelConfig;
  readonly #lut: Float32Array;
  readonly #flipIndex: Int32Array;
  readonly #limits: { maxPixels: number };

  constructor(
    config: BottomUpModelConfig,
    session: PoseSession,
    origin: ModelOrigin,
    flipTest: boolean,
    limits: { maxPixels: number },
    load: EstimatorInfo['load'],
  ) {
    this.#config = config;
    this.#session = session;
    this.#lut = normalizeTable(config.input.mean, config.input.std);
    this.#flipIndex = flipIndexFromPairs(config.keypoints.length, config.flipPairs);
    this.#limits = limits;
    const { tagPerJoint: _, ...grouping } = config.grouping;
    this.info = Object.freeze({
      ...commonInfo(config, session, origin, load),
      kind: 'bottom-up',
      input: { width: config.input.size, height: config.input.size },
      heatmap: { width: config.input.size, height: config.input.size },
      flipTest,
      decode: 'associative-embedding',
      grouping: Object.freeze(grouping),
    });
  }

  async estimate(image: ImageInput, options: EstimateOptions = {}): Promise<EstimateResult> {
    checkEstimateOptions(options);
    const session = this.#session;
    if (!session) {
      throw new SRPoseError('DISPOSED', 'this estimator was disposed; create a new one');
    }
    if (options.boxes !== undefined) {
      throw new SRPoseError(
        'INVALID_OPTION',
        'bottom-up models take no boxes: they find every person in the whole image',
      );
    }
    stopIfAborted(options.signal);
    const flipTest = options.flipTest ?? this.info.flipTest;
    const { input, grouping: g } = this.#config;
    const k = this.#config.keypoints.length;
    const t0 = now();
    const img = await readImage(image, this.#limits.maxPixels);
    const t1 = now();
    // Resize: the whole image into the network input (and its mirror), one batch.
    const frame = bottomUpFrame(img.width, img.height, input.size, input.multipleOf);
    const { width: w, height: h } = frame;
    if (w * h > BOTTOM_UP_MAX_INPUT_AREA * input.size * input.size) {
      throw new SRPoseError(
        'IMAGE_TOO_LARGE',
        `a ${img.width}x${img.height} image needs a ${w}x${h} network input; ` +
          `at most ${BOTTOM_UP_MAX_INPUT_AREA} x ${input.size}^2 pixels ` +
          `(aspect ratio up to about ${BOTTOM_UP_MAX_INPUT_AREA}:1)`,
      );
    }
    const per = 3 * w * h;
    const tensor = new Float32Array((flipTest ? 2 : 1) * per);
    cropToTensor(
      img.data,
      img.width,
      img.height,
      bottomUpMatrix(frame),
      w,
      h,
      this.#lut,
      tensor,
      0,
      flipTest ? per : -1,
    );
    const t2 = now();
    stopIfAborted(options.signal);
    const out = await session.run(tensor, [flipTest ? 2 : 1, 3, h, w]);
    const t3 = now();
    const maps = this.#maps(out, k, h, w, flipTest);
    const candidates = topKCandidates(maps, g.maxPeople, g.nmsKernel, g.nmsPadding);
    const t4 = now();
    const grouped = matchByTag(candidates, g);
    const t5 = now();
    if (g.adjust) adjustJoints(grouped, maps);
    const scores = personScores(grouped);
    if (g.refine) refinePeople(grouped, maps);
    const coords = groupedToImage(grouped, frame, w, h);
    // freed now rather than at the GC's next run (see discard): the maps are views of the
    // output, unused from here, and the pixels were decoded here
    session.freeOutput?.(out.data);
    if (img.owned) discard(img.data);
    const people = this.#people(grouped.joints, coords, scores, grouped.people, 3 + grouped.l);
    const t6 = now();
    return result(this.info, session, img, people, flipTest, {
      decode: t1 - t0,
      crop: t2 - t1,
      inference: t3 - t2,
      postprocess: t6 - t3,
      total: t6 - t0,
      resize: t2 - t1,
      nms: t4 - t3,
      grouping: t5 - t4,
      refine: t6 - t5,
    });
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

  /**
   * The output (n, 2K, h, w) as heatmaps (K, h, w) + tags (K, h, w, L), merged under the flip test.
   */
  #maps(
    out: { data: Float32Array; dims: readonly number[] },
    k: number,
    h: number,
    w: number,
    flip: boolean,
  ): BottomUpMaps {
    const expect = [flip ? 2 : 1, 2 * k, h, w];
    if (out.dims.length !== 4 || out.dims.some((d, i) => d !== expect[i])) {
      throw new SRPoseError(
        'MODEL_INVALID',
        `the model output is [${out.dims}], a bottom-up srpose.json implies ` +
          `[${expect}] (${k} heatmaps + ${k} tag maps at the input's resolution)`,
      );
    }
    if (!flip) return splitOutput(out.data, k, h, w);
    const one = 2 * k * h * w;
    return mergeFlipBottomUp(
      out.data.subarray(0, one),
      out.data.subarray(one, 2 * one),
      k,
      h,
      w,
      this.#flipIndex,
    );
  }

  #people(
    joints: Float32Array,
    coords: Float64Array,
    scores: Float32Array,
    count: number,
    width: number,
  ): Person[] {
    const names = this.#config.keypoints;
    const k = names.length;
    const people: Person[] = [];
    for (let p = 0; p < count; p++) {
      let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
      const keypoints = names.map((name, j) => {
        const x = coords[(p * k + j) * 2];
        const y = coords[(p * k + j) * 2 + 1];
        const score = joints[(p * k + j) * width + 2];
        if (score > 0) {
          x0 = Math.min(x0, x);
          y0 = Math.min(y0, y);
          x1 = Math.max(x1, x);
          y1 = Math.max(y1, y);
        }
        return { name, x, y, score };
      });
      const box: [number, number, number, number] = x0 <= x1
        ? [x0, y0, x1 - x0, y1 - y0]
        : [0, 0, 0, 0];
      people.push({ box, score: scores[p], keypoints });
    }
    return people;
  }
}
