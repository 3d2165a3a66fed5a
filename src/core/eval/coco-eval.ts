/**
 * The COCO keypoint metric (OKS-based AP and AR), as three reference implementations compute it:
 *
 * - `'xtcocotools'` (the default): xtcocotools' COCOeval with the arguments mmpose 0.x (and so
 *   the official SRPose evaluation) passes for COCO: `iouType='keypoints'`, the 17 COCO sigmas,
 *   `use_area=True`. It drops detections whose keypoint scores are all <= 0 and ignores ground
 *   truth with no labelled keypoint (v > 0), whatever `num_keypoints` says.
 * - `'pycocotools'`: the official cocoapi; ignores ground truth by its `num_keypoints` field and
 *   keeps every detection.
 * - `'crowdpose'`: the official crowdposetools (CrowdPose's 14 keypoints): object area is
 *   0.53 x the box area (CrowdPose has no `area`), and AP is also reported per crowd level
 *   (easy / medium / hard by the image's `crowdIndex`). mmpose evaluates CrowdPose with
 *   xtcocotools' `keypoints_crowd`, which gives the same numbers once detections without any
 *   positive keypoint score are left out.
 *
 * Hand-written for exactness rather than ported line by line: every step produces the same
 * float64 numbers as the Python references (numpy 1.24), checked against them, run from their
 * vendored sources, in tests/core/coco-eval.test.ts. What that takes: the thresholds as
 * `np.linspace` computes them (`i * step + start`, the last one `stop`), stable sorts where
 * they use `argsort(kind='mergesort')`, OKS in their operation order, numpy's pairwise summation
 * for `np.sum` / `np.mean`, and numpy's rounding for the crowd levels. The one thing not
 * reproduced bit for bit is `exp`: numpy's (SIMD or libm, by machine) and the JavaScript
 * engine's differ in the last bit for about a quarter of arguments, so an OKS can differ by an
 * ulp; the metric changes only if an OKS lies within that ulp of a threshold.
 *
 * Shapes follow the references: T = 10 OKS thresholds, R = 101 recall points, K categories,
 * A area ranges (all, medium, large), at most 20 detections per image and category.
 */
import { oneOf, SRPoseError } from '../../errors.ts';
import { COCO_SIGMAS, CROWDPOSE_SIGMAS } from '../sigmas.ts';
import { pairwiseSum } from '../numpy.ts';

/** Which reference implementation's numbers {@link evaluateKeypoints} reproduces. */
export type CocoMetricFlavour = 'xtcocotools' | 'pycocotools' | 'crowdpose';

/** Every {@link CocoMetricFlavour}, the default first. */
export const COCO_METRIC_FLAVOURS: readonly CocoMetricFlavour[] = Object.freeze(
  [
    'xtcocotools',
    'pycocotools',
    'crowdpose',
  ] as const,
);

/** One image of a COCO ground truth; only `id` (and `crowdIndex` for CrowdPose) is read. */
export interface CocoImage {
  id: number;
  width?: number;
  height?: number;
  /** CrowdPose's crowding level in [0, 1]: < 0.2 easy, < 0.8 medium, else hard. */
  crowdIndex?: number;
  file_name?: string;
  [key: string]: unknown;
}

/** One person annotation of a COCO keypoint ground truth. */
export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  /** K x (x, y, v), v = 0 unlabelled, 1 labelled but hidden, 2 visible. */
  keypoints: readonly number[];
  /** [x, y, width, height]: bounds the ignore region of an unlabelled person, and the area. */
  bbox: readonly number[];
  /** Segmentation area: the OKS scale for `'xtcocotools'` and `'pycocotools'`. */
  area?: number;
  /** Read by `'pycocotools'` and `'crowdpose'` (0 -> ignored); `'xtcocotools'` counts v > 0. */
  num_keypoints?: number;
  /** A crowd region: ignored, and may absorb any number of detections. Missing means 0. */
  iscrowd?: number | boolean;
  [key: string]: unknown;
}

/** A category of the ground truth; the evaluation reads only its `id`. */
export interface CocoCategory {
  id: number;
  name?: string;
  [key: string]: unknown;
}

/** A COCO keypoint ground truth, as its JSON file loads. */
export interface CocoGroundTruth {
  images: readonly CocoImage[];
  annotations: readonly CocoAnnotation[];
  /**
   * The categories evaluated. Every reference requires it; when absent, the categories of the
   * annotations are used.
   */
  categories?: readonly CocoCategory[];
}

/** One detected person, as the COCO results format (and mmpose's result file) holds it. */
export interface CocoKeypointResult {
  image_id: number;
  category_id: number;
  /** K x (x, y, score). */
  keypoints: readonly number[];
  score: number;
  /**
   * [x, y, width, height]. When the FIRST result has a non-empty bbox, every result's area is
   * width x height (and every result needs one); otherwise every area is the extent of its
   * keypoints. This is the references' `loadRes`, which decides on the first result.
   */
  bbox?: readonly number[];
  /** Ignored: every reference overwrites it from `bbox` or the keypoints. */
  area?: number;
}

/** The summary the reference prints, in its order. */
export interface CocoMetrics {
  /**
   * COCO (mmpose's `stats_names`): 'AP', 'AP .5', 'AP .75', 'AP (M)', 'AP (L)', 'AR',
   * 'AR .5', 'AR .75', 'AR (M)', 'AR (L)'. CrowdPose: 'AP', 'AP .5', 'AP .75', 'AR', 'AR .5',
   * 'AR .75', 'AP(E)', 'AP(M)', 'AP(H)'.
   */
  names: string[];
  /** One value per name; -1 where there is nothing to measure (no ground truth in range). */
  stats: number[];
}

/** Options of {@link evaluateKeypoints}. */
export interface CocoEvalOptions {
  /** Default `'xtcocotools'`. */
  flavour?: CocoMetricFlavour;
  /**
   * Per-keypoint OKS sigmas (K values); default {@link COCO_SIGMAS}, or
   * {@link CROWDPOSE_SIGMAS} for `'crowdpose'` (whose reference cannot take others).
   */
  sigmas?: readonly number[];
}

/** mmpose's names of the COCO keypoint stats. */
export const COCO_STATS_NAMES: readonly string[] = Object.freeze([
  'AP',
  'AP .5',
  'AP .75',
  'AP (M)',
  'AP (L)',
  'AR',
  'AR .5',
  'AR .75',
  'AR (M)',
  'AR (L)',
]);

/** mmpose's names of the CrowdPose stats. */
export const CROWDPOSE_STATS_NAMES: readonly string[] = Object.freeze([
  'AP',
  'AP .5',
  'AP .75',
  'AR',
  'AR .5',
  'AR .75',
  'AP(E)',
  'AP(M)',
  'AP(H)',
]);

/**
 * `np.linspace(start, stop, num)` (endpoint included) bit for bit: `i * step + start` with
 * `step = (stop - start) / (num - 1)`, and the last value set to `stop`. The recall points are
 * compared with exact quotients (tp / npig), so a threshold one ulp off moves a sample.
 */
export function linspace(start: number, stop: number, num: number): Float64Array {
  if (!Number.isInteger(num) || num < 0) fail(`linspace: num must be an integer >= 0, got ${num}`);
  const out = new Float64Array(num);
  const div = num - 1;
  const delta = stop - start;
  const step = delta / div;
  for (let i = 0; i < num; i++) {
    // numpy divides first when the step underflows to 0; neither happens for COCO's values
    out[i] = (div > 0 ? (step === 0 ? (i / div) * delta : i * step) : i * delta) + start;
  }
  if (num > 1) out[num - 1] = stop;
  return out;
}

/** OKS thresholds .5:.05:.95 (T = 10), as `np.linspace(.5, 0.95, 10)` gives them. */
export const COCO_IOU_THRESHOLDS: readonly number[] = Object.freeze(
  Array.from(linspace(0.5, 0.95, Math.round((0.95 - 0.5) / 0.05) + 1)),
);

/** Recall points 0:.01:1 (R = 101), as `np.linspace(.0, 1.00, 101)` gives them. */
export const COCO_RECALL_THRESHOLDS: readonly number[] = Object.freeze(
  Array.from(linspace(0, 1, Math.round((1 - 0) / 0.01) + 1)),
);

/** `np.spacing(1)`: keeps the OKS denominator and the precision's positive. */
const EPS = 2.220446049250313e-16;
/** The keypoint params' only maxDets. */
const MAX_DETS = 20;
/** all, medium, large; bounds inclusive on both sides in every reference. */
const AREA_RANGES: readonly (readonly [number, number])[] = [
  [0 ** 2, 1e5 ** 2],
  [32 ** 2, 96 ** 2],
  [96 ** 2, 1e5 ** 2],
];
/** np.sum reduces in blocks of the ufunc buffer size, each summed pairwise. */
const NUMPY_BUFFER = 8192;

/** What differs between the flavours, each a behaviour of its reference. */
interface Rules {
  /** xtcocotools drops a detection whose keypoint scores are all <= 0. */
  dropUnscored: boolean;
  /** xtcocotools ignores ground truth without a labelled keypoint (v > 0); else num_keypoints. */
  countLabels: boolean;
  /**
   * The dtMatches fill: -1 in xtcocotools (int64, matched = id >= 0), 0 in the others (float,
   * matched = id != 0, so a match with ground-truth id 0 counts as no match).
   */
  unmatched: -1 | 0;
  /**
   * The object scale: `'area'` (pycocotools: the annotation's area for OKS and area ranges),
   * `'area-or-box'` (xtcocotools, use_area: area for OKS; area ranges fall back to 0.53 x box
   * when `area` is absent), `'box'` (crowdposetools: 0.53 x box for both).
   */
  scale: 'area' | 'area-or-box' | 'box';
  summary: 'coco' | 'crowdpose';
  sigmas: readonly number[];
}

const RULES: Record<CocoMetricFlavour, Rules> = {
  xtcocotools: {
    dropUnscored: true,
    countLabels: true,
    unmatched: -1,
    scale: 'area-or-box',
    summary: 'coco',
    sigmas: COCO_SIGMAS,
  },
  pycocotools: {
    dropUnscored: false,
    countLabels: false,
    unmatched: 0,
    scale: 'area',
    summary: 'coco',
    sigmas: COCO_SIGMAS,
  },
  crowdpose: {
    dropUnscored: false,
    countLabels: false,
    unmatched: 0,
    scale: 'box',
    summary: 'crowdpose',
    sigmas: CROWDPOSE_SIGMAS,
  },
};

/** A ground-truth person ready for OKS. */
interface Gt {
  id: number;
  x: Float64Array;
  y: Float64Array;
  v: Float64Array;
  /** Keypoints with v > 0. */
  labelled: number;
  bbox: readonly number[];
  /** The OKS scale; undefined when the annotation has no `area` (an error only if needed). */
  oksArea: number | undefined;
  /** The area tested against the area ranges. */
  rangeArea: number;
  /** Ignored whatever the range: a crowd region, or a person without keypoints. */
  ignore: boolean;
  /** `int(iscrowd)`: may be matched again. */
  crowd: boolean;
}

/** A detection after `loadRes`. */
interface Dt {
  x: Float64Array;
  y: Float64Array;
  score: number;
  area: number;
}

/** evaluateImg's result for one image, category and area range. */
interface ImageEval {
  /** Scores of the kept detections, highest first (at most 20). */
  scores: Float64Array;
  /** [T x D]: a true positive at threshold t (matched, not ignored). */
  tp: Uint8Array;
  /** [T x D]: a false positive at threshold t (unmatched, not ignored). */
  fp: Uint8Array;
  /** Ground truth counted in recall (not ignored). */
  counted: number;
}

function fail(message: string): never {
  throw new SRPoseError('INVALID_OPTION', message);
}

const isNumber = (v: unknown): v is number => typeof v === 'number';

/** A finite number or INVALID_OPTION. */
function finite(v: unknown, what: string): number {
  if (!isNumber(v) || !Number.isFinite(v)) fail(`${what} must be a finite number, got ${v}`);
  return v;
}

/** An array of numbers of the given length (at least, for a box) or INVALID_OPTION. */
function numbers(v: unknown, n: number, what: string, atLeast = false): readonly number[] {
  if (!Array.isArray(v) || (atLeast ? v.length < n : v.length !== n) || !v.every(isNumber)) {
    const got = Array.isArray(v) ? `${v.length} values` : String(v);
    fail(`${what} must be ${atLeast ? 'at least ' : ''}${n} numbers, got ${got}`);
  }
  return v;
}

/** `np.sum` of the first `n` values (all by default). */
function numpySum(a: ArrayLike<number>, n = a.length): number {
  let s = 0;
  for (let lo = 0; lo < n; lo += NUMPY_BUFFER) {
    s += pairwiseSum((i) => a[i], lo, Math.min(NUMPY_BUFFER, n - lo));
  }
  return s;
}

/** `round(np.float64(x), 4)`: numpy multiplies, rounds half to even, divides back. */
function numpyRound4(x: number): number {
  const y = x * 10000;
  const f = Math.floor(y);
  const d = y - f;
  const r = d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1;
  return Number.isFinite(y) ? r / 10000 : x;
}

/**
 * Indices of `scores` from highest to lowest, equal scores in input order: numpy's
 * `argsort(-scores, kind='mergesort')` (NaN last), which decides every tie in the metric.
 */
function byScore(scores: ArrayLike<number>): number[] {
  const order = Array.from({ length: scores.length }, (_, i) => i);
  return order.sort((i, j) => {
    const a = -scores[i];
    const b = -scores[j];
    if (a < b) return -1;
    if (a > b) return 1;
    if (a === b) return 0;
    return Number.isNaN(a) ? (Number.isNaN(b) ? 0 : 1) : -1;
  });
}

/** A key for the references' `(image_id, category_id)` dictionaries. */
const pairKey = (img: number, cat: number) => `${img}/${cat}`;

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** Splits K x (x, y, c) into three arrays. */
function split3(kp: readonly number[], k: number): [Float64Array, Float64Array, Float64Array] {
  const x = new Float64Array(k);
  const y = new Float64Array(k);
  const c = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    x[i] = kp[3 * i];
    y[i] = kp[3 * i + 1];
    c[i] = kp[3 * i + 2];
  }
  return [x, y, c];
}

/** The ground truth indexed as the references' COCO object and `_prepare` leave it. */
interface GroundTruthIndex {
  /** Evaluated images: every image id, sorted and unique (`np.unique`). */
  imgIds: number[];
  /** Evaluated categories, sorted and unique. */
  catIds: number[];
  /** Persons per (image, category), in file order. */
  gts: Map<string, Gt[]>;
}

/** Reads one annotation into a {@link Gt} (the fields each flavour needs, or INVALID_OPTION). */
function prepareGt(a: CocoAnnotation, k: number, rules: Rules, where: string): Gt {
  const [x, y, v] = split3(numbers(a.keypoints, 3 * k, `${where}.keypoints`), k);
  const bbox = numbers(a.bbox, 4, `${where}.bbox`, true);
  let labelled = 0;
  for (let i = 0; i < k; i++) if (v[i] > 0) labelled++;
  if ('area' in a && !isNumber(a.area)) fail(`${where}.area must be a number, got ${a.area}`);
  if (rules.scale === 'area' && !isNumber(a.area)) {
    fail(`${where} has no area: the pycocotools metric scales OKS by it`);
  }
  let empty: boolean;
  if (rules.countLabels) empty = labelled === 0;
  else {
    const n = a.num_keypoints;
    if (!isNumber(n)) fail(`${where} has no num_keypoints: this flavour ignores persons by it`);
    empty = n === 0;
  }
  const iscrowd = a.iscrowd ?? 0;
  if (!isNumber(iscrowd) && typeof iscrowd !== 'boolean') {
    fail(`${where}.iscrowd must be a number or a boolean, got ${iscrowd}`);
  }
  // the box-derived area: w * h * 0.53, left to right as written in the references
  const boxArea = bbox[2] * bbox[3] * 0.53;
  return {
    id: a.id,
    x,
    y,
    v,
    labelled,
    bbox,
    oksArea: rules.scale === 'box' ? boxArea : a.area,
    rangeArea: rules.scale === 'box' ? boxArea : isNumber(a.area) ? a.area : boxArea,
    // `ignore = (k == 0) or iscrowd`: truthiness, while matching uses int(iscrowd)
    ignore: empty || !!iscrowd,
    crowd: Math.trunc(Number(iscrowd)) !== 0,
  };
}

/**
 * The references' COCO index and `_prepare` for the ground truth: images sorted by id, the
 * annotations of each image in file order, those of other images or categories left out, and
 * an annotation id used twice resolving to its last annotation (their `anns` dictionary).
 */
function indexGroundTruth(gt: CocoGroundTruth, k: number, rules: Rules): GroundTruthIndex {
  if (!gt || typeof gt !== 'object' || !Array.isArray(gt.images)) {
    fail('ground truth must be a COCO object with an images array');
  }
  if (!Array.isArray(gt.annotations)) fail('ground truth must have an annotations array');
  const imgSet = new Set<number>();
  gt.images.forEach((im, i) => imgSet.add(finite(im?.id, `gt.images[${i}].id`)));
  const imgIds = [...imgSet].sort((a, b) => a - b);
  const catSource = Array.isArray(gt.categories) ? gt.categories : gt.annotations;
  const catSet = new Set<number>();
  catSource.forEach((c, i) => {
    const id = 'category_id' in c ? c.category_id : c.id;
    catSet.add(finite(id, `gt.categories[${i}].id`));
  });
  const catIds = [...catSet].sort((a, b) => a - b);

  const byImage = new Map<number, CocoAnnotation[]>();
  const byId = new Map<number, number>();
  gt.annotations.forEach((a, i) => {
    if (!a || typeof a !== 'object') fail(`gt.annotations[${i}] must be an object`);
    if (!Number.isInteger(a.id)) fail(`gt.annotations[${i}].id must be an integer, got ${a.id}`);
    finite(a.image_id, `gt.annotations[${i}].image_id`);
    finite(a.category_id, `gt.annotations[${i}].category_id`);
    const list = byImage.get(a.image_id);
    if (list) list.push(a);
    else byImage.set(a.image_id, [a]);
    byId.set(a.id, i);
  });

  const prepared = new Map<number, Gt>();
  const gts = new Map<string, Gt[]>();
  for (const img of imgIds) {
    for (const a of byImage.get(img) ?? []) {
      if (!catSet.has(a.category_id)) continue;
      const i = byId.get(a.id)!;
      let g = prepared.get(i);
      if (!g) prepared.set(i, g = prepareGt(gt.annotations[i], k, rules, `gt.annotations[${i}]`));
      const loaded = gt.annotations[i];
      push(gts, pairKey(loaded.image_id, loaded.category_id), g);
    }
  }
  return { imgIds, catIds, gts };
}

/**
 * The references' `loadRes` and the detection half of `_prepare`: each result's area from its
 * bbox (when the first result has one) or its keypoints' extent, results of images outside the
 * ground truth refused (their assertion), of other categories left out, and for xtcocotools
 * results without a positive keypoint score dropped. Grouped per (image, category) in result
 * order, images by id.
 */
function loadResults(
  results: readonly CocoKeypointResult[],
  index: GroundTruthIndex,
  k: number,
  rules: Rules,
): Map<string, Dt[]> {
  if (!Array.isArray(results)) fail('results must be an array of keypoint results');
  const imgSet = new Set(index.imgIds);
  const catSet = new Set(index.catIds);
  const first = results[0]?.bbox;
  const fromBox = Array.isArray(first) && first.length > 0;
  const byImage = new Map<number, Dt[]>();
  const catOf = new Map<Dt, number>();
  results.forEach((r, i) => {
    const where = `results[${i}]`;
    if (!r || typeof r !== 'object') fail(`${where} must be an object`);
    const img = finite(r.image_id, `${where}.image_id`);
    if (!imgSet.has(img)) {
      fail(`${where}.image_id ${img} is not an image of the ground truth`);
    }
    const cat = finite(r.category_id, `${where}.category_id`);
    if (!isNumber(r.score)) fail(`${where}.score must be a number, got ${r.score}`);
    const [x, y, c] = split3(numbers(r.keypoints, 3 * k, `${where}.keypoints`), k);
    if (r.bbox !== undefined && !Array.isArray(r.bbox)) fail(`${where}.bbox must be an array`);
    let area: number;
    if (fromBox) {
      const bb = numbers(r.bbox, 4, `${where}.bbox (the first result has one)`, true);
      area = bb[2] * bb[3];
    } else {
      let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
      for (let j = 0; j < k; j++) {
        x0 = Math.min(x0, x[j]);
        x1 = Math.max(x1, x[j]);
        y0 = Math.min(y0, y[j]);
        y1 = Math.max(y1, y[j]);
      }
      area = (x1 - x0) * (y1 - y0);
    }
    if (!catSet.has(cat)) return;
    if (rules.dropUnscored && !c.some((s) => s > 0)) return;
    const dt: Dt = { x, y, score: r.score, area };
    catOf.set(dt, cat);
    const list = byImage.get(img);
    if (list) list.push(dt);
    else byImage.set(img, [dt]);
  });
  const dts = new Map<string, Dt[]>();
  for (const img of index.imgIds) {
    for (const dt of byImage.get(img) ?? []) push(dts, pairKey(img, catOf.get(dt)!), dt);
  }
  return dts;
}

/**
 * The OKS divisors `(2 sigma)^2`, as the references compute them (`(sigmas * 2) ** 2`) and then
 * divide by: a product with reciprocals would round differently.
 */
function variances(sigmas: readonly number[]): Float64Array {
  return Float64Array.from(sigmas, (s) => (s * 2) * (s * 2));
}

/**
 * OKS of one detection against one ground-truth person (computeOks): over the labelled
 * keypoints, or, for a person without any, the distance outside the box doubled on each side.
 * `e = (dx^2 + dy^2) / vars / (scale + eps) / 2` in this order, then the mean of exp(-e).
 */
function oks(g: Gt, d: Dt, vars: Float64Array, scale: number, e: Float64Array): number {
  const k = vars.length;
  const [bx, by, bw, bh] = g.bbox;
  const x0 = bx - bw, x1 = bx + bw * 2;
  const y0 = by - bh, y1 = by + bh * 2;
  const den = scale + EPS;
  let n = 0;
  for (let i = 0; i < k; i++) {
    let dx: number, dy: number;
    if (g.labelled > 0) {
      if (!(g.v[i] > 0)) continue;
      dx = d.x[i] - g.x[i];
      dy = d.y[i] - g.y[i];
    } else {
      dx = Math.max(0, x0 - d.x[i]) + Math.max(0, d.x[i] - x1);
      dy = Math.max(0, y0 - d.y[i]) + Math.max(0, d.y[i] - y1);
    }
    e[n++] = Math.exp(-((dx * dx + dy * dy) / vars[i] / den / 2));
  }
  return numpySum(e, n) / n;
}

/**
 * The [D x G] OKS matrix of an image and category (computeOks), detections by score (at most
 * 20), ground truth in file order; null when either side is empty.
 */
function oksMatrix(gts: Gt[], dts: Dt[], vars: Float64Array, where: string): Float64Array | null {
  if (gts.length === 0 || dts.length === 0) return null;
  const out = new Float64Array(dts.length * gts.length);
  const e = new Float64Array(vars.length);
  gts.forEach((g, j) => {
    if (g.oksArea === undefined) fail(`${where}: ground truth ${g.id} has no area (OKS scale)`);
    dts.forEach((d, i) => (out[i * gts.length + j] = oks(g, d, vars, g.oksArea!, e)));
  });
  return out;
}

/**
 * evaluateImg: greedy matching, highest score first, at each threshold. A detection takes the
 * best remaining person with OKS >= t (a later one on equal OKS), crowd regions being reusable;
 * once it holds a counted person it stops at the first ignored one (they are sorted last). A
 * detection matched to an ignored person is ignored, as is an unmatched one outside the range.
 */
function evaluateImage(
  gts: Gt[],
  dts: Dt[],
  ious: Float64Array | null,
  range: readonly [number, number],
  thresholds: readonly number[],
  rules: Rules,
): ImageEval {
  const [lo, hi] = range;
  const ignored = gts.map((g) => g.ignore || g.rangeArea < lo || g.rangeArea > hi);
  // stable: counted persons first, each group in file order
  const gOrder = gts.map((_, i) => i).sort((a, b) => Number(ignored[a]) - Number(ignored[b]));
  const G = gts.length;
  const D = dts.length;
  const T = thresholds.length;
  const dtm = new Float64Array(T * D).fill(rules.unmatched);
  const dtIg = new Uint8Array(T * D);
  const taken = new Uint8Array(T * G);
  const isMatch = rules.unmatched === -1 ? (v: number) => v >= 0 : (v: number) => v !== 0;
  if (ious) {
    for (let t = 0; t < T; t++) {
      for (let d = 0; d < D; d++) {
        let best = Math.min(thresholds[t], 1 - 1e-10);
        let m = -1;
        for (let gi = 0; gi < G; gi++) {
          const g = gOrder[gi];
          if (taken[t * G + gi] && !gts[g].crowd) continue;
          if (m > -1 && !ignored[gOrder[m]] && ignored[g]) break;
          const v = ious[d * G + g];
          if (v < best) continue;
          best = v;
          m = gi;
        }
        if (m === -1) continue;
        dtIg[t * D + d] = ignored[gOrder[m]] ? 1 : 0;
        dtm[t * D + d] = gts[gOrder[m]].id;
        taken[t * G + m] = 1;
      }
    }
  }
  const tp = new Uint8Array(T * D);
  const fp = new Uint8Array(T * D);
  for (let d = 0; d < D; d++) {
    const outside = dts[d].area < lo || dts[d].area > hi;
    for (let t = 0; t < T; t++) {
      const matched = isMatch(dtm[t * D + d]);
      const ig = dtIg[t * D + d] === 1 || (!matched && outside);
      tp[t * D + d] = matched && !ig ? 1 : 0;
      fp[t * D + d] = !matched && !ig ? 1 : 0;
    }
  }
  return {
    scores: Float64Array.from(dts, (d) => d.score),
    tp,
    fp,
    counted: ignored.filter((x) => !x).length,
  };
}

/** Per category, area range and image (the evalImgs list); null where there is neither side. */
function evaluateAll(
  index: GroundTruthIndex,
  dts: Map<string, Dt[]>,
  vars: Float64Array,
  rules: Rules,
): (ImageEval | null)[][][] {
  const perPair = new Map<string, { gts: Gt[]; dts: Dt[]; ious: Float64Array | null }>();
  for (const img of index.imgIds) {
    for (const cat of index.catIds) {
      const key = pairKey(img, cat);
      const g = index.gts.get(key) ?? [];
      const all = dts.get(key) ?? [];
      const d = byScore(all.map((x) => x.score)).slice(0, MAX_DETS).map((i) => all[i]);
      if (g.length === 0 && d.length === 0) continue;
      const where = `image ${img}, category ${cat}`;
      perPair.set(key, { gts: g, dts: d, ious: oksMatrix(g, d, vars, where) });
    }
  }
  return index.catIds.map((cat) =>
    AREA_RANGES.map((range) =>
      index.imgIds.map((img) => {
        const p = perPair.get(pairKey(img, cat));
        return p ? evaluateImage(p.gts, p.dts, p.ious, range, COCO_IOU_THRESHOLDS, rules) : null;
      })
    )
  );
}

/** Precision [T x R x K x A] and recall [T x K x A], -1 where nothing was measured. */
interface Accumulated {
  precision: Float64Array;
  recall: Float64Array;
  K: number;
}

/**
 * accumulate over the images at `imageIdx` (ascending): detections of all of them ranked by
 * score (ties by image, then rank in the image), precision made non-increasing from the right,
 * then sampled at the first rank whose recall reaches each recall point (0 past the last).
 */
function accumulate(evals: (ImageEval | null)[][][], imageIdx: readonly number[]): Accumulated {
  const T = COCO_IOU_THRESHOLDS.length;
  const R = COCO_RECALL_THRESHOLDS.length;
  const K = evals.length;
  const A = AREA_RANGES.length;
  const precision = new Float64Array(T * R * K * A).fill(-1);
  const recall = new Float64Array(T * K * A).fill(-1);
  for (let k = 0; k < K; k++) {
    for (let a = 0; a < A; a++) {
      const E = imageIdx.map((i) => evals[k][a][i]).filter((e): e is ImageEval => e !== null);
      if (E.length === 0) continue;
      const npig = E.reduce((s, e) => s + e.counted, 0);
      // (image, rank) of each concatenated detection, then ranked by score
      const owner: [ImageEval, number][] = [];
      E.forEach((e) => e.scores.forEach((_, d) => owner.push([e, d])));
      const order = byScore(owner.map(([e, d]) => e.scores[d]));
      if (npig === 0) continue;
      const nd = order.length;
      const rc = new Float64Array(nd);
      const pr = new Float64Array(nd);
      for (let t = 0; t < T; t++) {
        let tp = 0, fp = 0;
        order.forEach((o, j) => {
          const [e, d] = owner[o];
          const D = e.scores.length;
          tp += e.tp[t * D + d];
          fp += e.fp[t * D + d];
          rc[j] = tp / npig;
          pr[j] = tp / (fp + tp + EPS);
        });
        recall[(t * K + k) * A + a] = nd ? rc[nd - 1] : 0;
        for (let i = nd - 1; i > 0; i--) if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
        let pi = 0;
        for (let r = 0; r < R; r++) {
          // np.searchsorted(rc, recThrs, side='left'): the first rank with rc >= the point
          while (pi < nd && rc[pi] < COCO_RECALL_THRESHOLDS[r]) pi++;
          precision[((t * R + r) * K + k) * A + a] = pi < nd ? pr[pi] : 0;
        }
      }
    }
  }
  return { precision, recall, K };
}

/**
 * One summary value (_summarize): the mean of the measured entries (> -1) at the thresholds
 * `ts`, over recall points (for AP) and categories, for area range `a`; -1 if none.
 */
function summarizeOne(acc: Accumulated, ap: boolean, ts: readonly number[], a: number): number {
  const R = COCO_RECALL_THRESHOLDS.length;
  const A = AREA_RANGES.length;
  const { K } = acc;
  const picked: number[] = [];
  for (const t of ts) {
    for (let r = 0; r < (ap ? R : 1); r++) {
      for (let k = 0; k < K; k++) {
        const v = ap
          ? acc.precision[((t * R + r) * K + k) * A + a]
          : acc.recall[(t * K + k) * A + a];
        if (v > -1) picked.push(v);
      }
    }
  }
  return picked.length === 0 ? -1 : numpySum(picked) / picked.length;
}

/** Threshold indices where `select` holds: all, or those equal to (near, for one) a value. */
const thresholdsWhere = (select: (t: number) => boolean) =>
  COCO_IOU_THRESHOLDS.flatMap((t, i) => (select(t) ? [i] : []));
const ALL_T = thresholdsWhere(() => true);
const T50 = thresholdsWhere((t) => t === 0.5);
const T75 = thresholdsWhere((t) => t === 0.75);

/** xtcocotools' / pycocotools' _summarizeKps. */
function summarizeCoco(acc: Accumulated): CocoMetrics {
  const stats = [
    summarizeOne(acc, true, ALL_T, 0),
    summarizeOne(acc, true, T50, 0),
    summarizeOne(acc, true, T75, 0),
    summarizeOne(acc, true, ALL_T, 1),
    summarizeOne(acc, true, ALL_T, 2),
    summarizeOne(acc, false, ALL_T, 0),
    summarizeOne(acc, false, T50, 0),
    summarizeOne(acc, false, T75, 0),
    summarizeOne(acc, false, ALL_T, 1),
    summarizeOne(acc, false, ALL_T, 2),
  ];
  return { names: [...COCO_STATS_NAMES], stats };
}

/**
 * crowdposetools' _summarizeKps and get_type_result: AP at .5 / .75 picks thresholds within
 * 0.01 (AR by equality; the same ones here), and each crowd level's AP is the mean of ALL its
 * precision entries (-1 included) over area 'all', rounded to 4 decimals as numpy rounds.
 */
function summarizeCrowd(
  acc: Accumulated,
  gt: CocoGroundTruth,
  evals: (ImageEval | null)[][][],
  imgIds: readonly number[],
): CocoMetrics {
  const near = (v: number) => thresholdsWhere((t) => Math.abs(v - t) < 0.01);
  const levels: number[][] = [[], [], []];
  gt.images.forEach((im, i) => {
    const c = im.crowdIndex;
    if (!isNumber(c)) fail(`gt.images[${i}] has no crowdIndex: the CrowdPose levels need it`);
    levels[c < 0.2 ? 0 : c < 0.8 ? 1 : 2].push(im.id);
  });
  const position = new Map(imgIds.map((id, i) => [id, i]));
  const T = COCO_IOU_THRESHOLDS.length;
  const R = COCO_RECALL_THRESHOLDS.length;
  const A = AREA_RANGES.length;
  const byLevel = levels.map((ids) => {
    const idx = [...new Set(ids.map((id) => position.get(id)!))].sort((a, b) => a - b);
    const level = accumulate(evals, idx);
    const all = new Float64Array(T * R * level.K);
    for (let i = 0; i < all.length; i++) all[i] = level.precision[i * A];
    return all.length ? numpyRound4(numpySum(all) / all.length) : NaN;
  });
  const stats = [
    summarizeOne(acc, true, ALL_T, 0),
    summarizeOne(acc, true, near(0.5), 0),
    summarizeOne(acc, true, near(0.75), 0),
    summarizeOne(acc, false, ALL_T, 0),
    summarizeOne(acc, false, T50, 0),
    summarizeOne(acc, false, T75, 0),
    ...byLevel,
  ];
  return { names: [...CROWDPOSE_STATS_NAMES], stats };
}

/**
 * COCO keypoint AP / AR of `results` against `gt`, equal (to 1e-12, see the module comment)
 * to the chosen reference implementation run with the arguments mmpose uses.
 *
 * @param gt the ground truth as its JSON loads (images, annotations, categories).
 * @param results detections in the COCO results format (image_id, category_id, K x 3
 *   keypoints, score, optional bbox); every image_id must be an image of `gt`.
 * @throws SRPoseError `INVALID_OPTION` for an unknown flavour, bad sigmas, malformed ground
 *   truth or results, a result on an image outside `gt`, or a field the flavour needs that is
 *   missing (`area` for pycocotools, `num_keypoints` for pycocotools and crowdpose, an image's
 *   `crowdIndex` for crowdpose): the inputs on which the reference itself fails.
 */
export function evaluateKeypoints(
  gt: CocoGroundTruth,
  results: readonly CocoKeypointResult[],
  o: CocoEvalOptions = {},
): CocoMetrics {
  const flavour = oneOf(o.flavour ?? 'xtcocotools', COCO_METRIC_FLAVOURS, 'flavour');
  const rules = RULES[flavour];
  const sigmas = o.sigmas ?? rules.sigmas;
  if (!Array.isArray(sigmas) || sigmas.length === 0) fail('sigmas must be a non-empty array');
  sigmas.forEach((s, i) => {
    if (!(finite(s, `sigmas[${i}]`) > 0)) fail(`sigmas[${i}] must be > 0, got ${s}`);
  });
  const k = sigmas.length;
  const index = indexGroundTruth(gt, k, rules);
  const dts = loadResults(results, index, k, rules);
  const evals = evaluateAll(index, dts, variances(sigmas), rules);
  const acc = accumulate(evals, index.imgIds.map((_, i) => i));
  return rules.summary === 'coco'
    ? summarizeCoco(acc)
    : summarizeCrowd(acc, gt, evals, index.imgIds);
}
