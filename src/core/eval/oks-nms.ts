/**
 * The top-down evaluation post-processing of mmpose 0.x as the official SRPose code runs it
 * (`TopDownCocoDataset.evaluate`, which `TopDownCrowdPoseDataset` inherits, and
 * `mmpose/core/post_processing/nms.py`): each person's score becomes the box score times the
 * mean of its keypoint scores above `vis_thr`, then OKS NMS (or soft OKS NMS) per image keeps
 * the people written to the results file. Equal to the official code, run from its source in
 * tests/core/oks-nms.test.ts, kept indices exactly and scores bit for bit, including its quirks:
 *
 * - Dtypes as mmpose has them: keypoints, areas and box scores are float32 (the head writes
 *   them into float32 arrays, so every input here is read through `Math.fround`), the rescored
 *   person score is float64. In `oks_iou` the coordinate differences and their squares are
 *   float32, the rest float64, the result is stored as float32; thresholds are compared in
 *   float32 (`oks_ovr <= thr`, `vd > vis_thr` on float32 arrays) while the rescoring compares
 *   a float32 scalar with `vis_thr` in float64: a keypoint score of exactly `float32(0.2)`
 *   counts in the rescoring (`0.2000000030 > 0.2`) but not in `oks_iou`'s visibility mask.
 * - `scores.argsort()[::-1]`: numpy's default `quicksort` is an introsort that is not stable;
 *   {@link argsortDescending} replays numpy 1.24's (insertion sort up to 16 values, median of
 *   three partitions above, heapsort past the depth limit) and reverses it, so people with equal
 *   scores come out in numpy's order (for 16 or fewer: the later index first).
 * - `oks_iou`'s area term is `(a_g + a_d) / 2 + np.spacing(1)` (float32 sum, then float64), so
 *   two zero-area people overlap 1 where they coincide and 0 elsewhere.
 * - `vis_thr` in `oks_iou` is `list(vg > vis_thr) and list(vd > vis_thr)`: Python's `and`
 *   returns the second list, so only the *other* person's keypoints are masked. The datasets'
 *   `evaluate` never passes `vis_thr` to the NMS (it only rescales the scores), so every
 *   keypoint counts there.
 * - Soft NMS: `_rescore` decays with the gaussian `score * exp(-oks^2 / thr)` (the `thr` is the
 *   NMS threshold, `oks_thr`, not a separate sigma), the exponent in float32 through numpy's
 *   own float32 `exp` ({@link expFloat32}); it keeps at most `max_dets` (20, as `evaluate`
 *   calls it) people in the order it picks them and never drops anyone for overlap alone.
 *   The decayed scores only order the picks: the results keep the rescored scores.
 *
 * The float64 `exp` of `oks_iou` is `Math.exp` here; numpy's (SVML on AVX-512 machines, the C
 * library's elsewhere) may differ in the last bit. The OKS is then rounded to float32, which
 * hides such a difference unless it straddles a float32 rounding boundary (a chance of about
 * 2^-29 per differing value): no difference showed in the tests.
 * @module
 */
import { SRPoseError } from '../../errors.ts';
import { COCO_SIGMAS } from '../sigmas.ts';
import { pairwiseSum as sum } from '../numpy.ts';

const f32 = Math.fround;

// ---- the official configuration -----------------------------------------------------------

/** `soft_oks_nms`'s default `max_dets`, which `evaluate` keeps: at most 20 people per image. */
export const SOFT_OKS_NMS_MAX_DETS = 20;

/** The `data_cfg` entries of a top-down test configuration that decide the evaluation. */
export interface TopDownEvalConfig {
  /** Crops from the ground-truth boxes (`true`) or from the detector's (`bbox_file`). */
  readonly useGtBbox: boolean;
  /** Detections scoring below this are dropped when the crops are made (`det_bbox_thr`). */
  readonly detBboxThr: number;
  /** Whether `evaluate` runs the NMS at all (`use_nms`, default `true`). */
  readonly useNms: boolean;
  /** Soft OKS NMS instead of OKS NMS (`soft_nms`). */
  readonly softNms: boolean;
  /** `nms_thr`: read by the dataset but used nowhere in the top-down evaluation. */
  readonly nmsThr: number;
  /** The OKS above which a lower-scored person is suppressed (`oks_thr`). */
  readonly oksThr: number;
  /** Keypoint scores above this count in the rescoring (`vis_thr`). */
  readonly visThr: number;
  /** The detections file (`bbox_file`), its base name; `null` with ground-truth boxes. */
  readonly bboxFile: string | null;
}

/**
 * COCO val2017, as every top-down COCO configuration of the SRPose repository has it
 * (`configs/top_down/srpose/coco/{res50,hrnet_w32,hrt_small}_srpose_coco_256x192.py` and all
 * the mmpose ones beside them, commit 30d6cfe): detected boxes (`use_gt_bbox=False`,
 * `det_bbox_thr=0.0`, the `COCO_val2017_detections_AP_H_56_person.json` detections), OKS NMS
 * (`soft_nms=False`) at `oks_thr=0.9`, `vis_thr=0.2`, `nms_thr=1.0`.
 */
export const COCO_TOPDOWN_EVAL: TopDownEvalConfig = Object.freeze({
  useGtBbox: false,
  detBboxThr: 0.0,
  useNms: true,
  softNms: false,
  nmsThr: 1.0,
  oksThr: 0.9,
  visThr: 0.2,
  bboxFile: 'COCO_val2017_detections_AP_H_56_person.json',
});

/**
 * CrowdPose test, as `configs/top_down/{resnet,hrnet}/crowdpose/*.py` of the SRPose repository
 * have it (no SRPose-specific CrowdPose configuration exists): the same values as COCO with the
 * `det_for_crowd_test_0.1_0.5.json` detections (and `crowd_matching=False`).
 */
export const CROWDPOSE_TOPDOWN_EVAL: TopDownEvalConfig = Object.freeze({
  ...COCO_TOPDOWN_EVAL,
  bboxFile: 'det_for_crowd_test_0.1_0.5.json',
});

/**
 * MPII val, as the `configs/top_down/<model>/mpii/` configurations have it: ground-truth boxes
 * (`use_gt_bbox=True`, `bbox_file=None`) and no NMS or rescoring at all; its metric is PCKh
 * (`./pckh.ts`). The other fields are not in those configurations and mean nothing there.
 */
export const MPII_TOPDOWN_EVAL: TopDownEvalConfig = Object.freeze({
  useGtBbox: true,
  detBboxThr: 0.0,
  useNms: false,
  softNms: false,
  nmsThr: 1.0,
  oksThr: 0.9,
  visThr: 0.2,
  bboxFile: null,
});

// ---- numpy, where the result depends on it -------------------------------------------------

/** numpy's `<` for float sorts (`DOUBLE_LT`): NaN sorts after every number. */
const lt = (a: number, b: number) => a < b || (b !== b && a === a);

/**
 * `values.argsort()[::-1]` as numpy 1.24 computes it for a float64 array: the reverse of its
 * default (`kind='quicksort'`) argsort, an introsort that is not stable (see
 * {@link numpyArgsort}). For up to 16 values it is an insertion sort, so after the reversal the
 * later of two equal values comes first; above, partitions around medians of three shuffle
 * equal values, in numpy's way. NaN sorts last in the argsort, so first here. (numpy 1.25 and
 * later dispatch float64 argsorts to x86-simd-sort on AVX-512 CPUs, whose order of equal values
 * differs.)
 */
export function argsortDescending(values: ArrayLike<number>): number[] {
  return numpyArgsort(values.length, (i, j) => lt(values[i], values[j])).reverse();
}

/**
 * numpy 1.24's default argsort of `n` items (`aquicksort_` of `npysort/quicksort.cpp`)
 * replayed step for step with `less(i, j)` comparing items `i` and `j`: insertion sort for
 * runs of up to 16 (`SMALL_QUICKSORT` 15), else a partition around the median of the first,
 * middle and last item with the larger side stacked, and `aheapsort_` for a run once
 * `2 floor(log2 n)` partitions deep. The same comparisons in the same order give the same
 * permutation, equal items included.
 */
export function numpyArgsort(n: number, less: (i: number, j: number) => boolean): number[] {
  const a: number[] = Array.from({ length: n }, (_, i) => i);
  const swap = (i: number, j: number) => {
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  };
  const stack: number[] = [];
  const depths: number[] = [];
  let pl = 0;
  let pr = n - 1;
  // npy_get_msb(num) * 2
  let cdepth = 0;
  for (let u = n; (u >>= 1) > 0;) cdepth++;
  cdepth *= 2;
  for (;;) {
    if (cdepth < 0) {
      heapsort(a, pl, pr - pl + 1, less);
    } else {
      while (pr - pl > 15) {
        const pm = pl + ((pr - pl) >> 1);
        if (less(a[pm], a[pl])) swap(pm, pl);
        if (less(a[pr], a[pm])) swap(pr, pm);
        if (less(a[pm], a[pl])) swap(pm, pl);
        const vp = a[pm];
        let pi = pl;
        let pj = pr - 1;
        swap(pm, pj);
        for (;;) {
          do ++pi; while (less(a[pi], vp));
          do --pj; while (less(vp, a[pj]));
          if (pi >= pj) break;
          swap(pi, pj);
        }
        swap(pi, pr - 1);
        // the larger partition waits on the stack
        if (pi - pl < pr - pi) {
          stack.push(pi + 1, pr);
          pr = pi - 1;
        } else {
          stack.push(pl, pi - 1);
          pl = pi + 1;
        }
        depths.push(--cdepth);
      }
      for (let pi = pl + 1; pi <= pr; pi++) {
        const vi = a[pi];
        let pj = pi;
        while (pj > pl && less(vi, a[pj - 1])) {
          a[pj] = a[pj - 1];
          pj--;
        }
        a[pj] = vi;
      }
    }
    if (stack.length === 0) break;
    pr = stack.pop()!;
    pl = stack.pop()!;
    cdepth = depths.pop()!;
  }
  return a;
}

/** numpy's `aheapsort_` over `a[pl .. pl + n)` (1-based heap indices, as the C code). */
function heapsort(
  a: number[],
  pl: number,
  n: number,
  less: (i: number, j: number) => boolean,
): void {
  const at = (i: number) => pl + i - 1;
  // the C code's inner loop, the same in both phases: `tmp` sifted down from heap index `i`
  const siftDown = (tmp: number, i: number, end: number) => {
    for (let j = i << 1; j <= end;) {
      if (j < end && less(a[at(j)], a[at(j + 1)])) j += 1;
      if (less(tmp, a[at(j)])) {
        a[at(i)] = a[at(j)];
        i = j;
        j += j;
      } else break;
    }
    a[at(i)] = tmp;
  };
  for (let l = n >> 1; l > 0; --l) siftDown(a[at(l)], l, n);
  for (; n > 1;) {
    const tmp = a[at(n)];
    a[at(n)] = a[at(1)];
    n -= 1;
    siftDown(tmp, 1, n);
  }
}

/**
 * `np.sum` of float64 values (`add.reduce` with the identity 0 as start): `0 +` numpy's
 * pairwise summation (eight accumulators over blocks of up to 128 values, halves above), so the
 * rounding is numpy's. `at(i)` gives the i-th of `n` values.
 */
export function pairwiseSum(at: (i: number) => number, n: number): number {
  return 0 + sum(at, 0, n);
}

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** The float32 next to `x` (a finite float32) away from zero or toward it, by `step` (+1/-1). */
function stepF32(x: number, step: number): number {
  F32[0] = x;
  if (x === 0) {
    U32[0] = 1;
    return step > 0 ? F32[0] : -F32[0];
  }
  // bits grow with magnitude; moving up means away from zero for positives
  U32[0] += (x > 0) === (step > 0) ? 1 : -1;
  return F32[0];
}

/**
 * A fused multiply-add of float32 values rounded once to float32 (`_mm512_fmadd_ps`): the
 * product is exact in float64, the sum's float64 rounding error is recovered (TwoSum), and it
 * decides the one case where rounding twice would go wrong: a float64 sum that lies exactly
 * halfway between two float32 values.
 */
function fmaF32(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  const r = f32(s);
  if (r === s || !Number.isFinite(s)) return r;
  const bb = s - p;
  const err = (p - (s - bb)) + (c - bb);
  if (err === 0) return r;
  const other = stepF32(r, s > r ? 1 : -1);
  if ((r + other) / 2 !== s) return r;
  // exactly halfway in float64, but the exact sum lies on the side of err
  return err > 0 ? Math.max(r, other) : Math.min(r, other);
}

// numpy 1.24's float32 exp constants (npy_simd_data.h, npy_math.h), as float32
const EXP_XMAX = 88.72283935546875;
const EXP_XMIN = -103.97208404541015625;
const LOG2E_F = f32(1.442695040888963407359924681001892137);
const CVT_MAGIC_F = 12582912; // 0x1.8p+23: adding then subtracting it rounds to an integer
const LN2_HI_F = f32(-6.93145752e-1);
const LN2_LO_F = f32(-1.42860677e-6);
const P_F = [
  9.999999999980870924916e-01,
  7.257664613233124478488e-01,
  2.473615434895520810817e-01,
  5.114512081637298353406e-02,
  6.757896990527504603057e-03,
  5.082762527590693718096e-04,
].map(f32);
const Q_F = [1, -2.742335390411667452936e-01, 2.159509375685829852307e-02].map(f32);

/**
 * `np.exp` of a float32 value as numpy 1.24 computes it on x86-64 with AVX2 + FMA3 or AVX-512F
 * (`simd_exp_FLOAT`): `k = rint(x log2 e)` (its multiply and add fused by the compiler),
 * Cody-Waite reduction `r = x - k ln 2` in two fused steps, `exp(r)` as a degree-5 over
 * degree-2 rational function by Horner with fused multiply-adds, then `* 2^k`; 0 at or below
 * -103.972, infinity at or above 88.723. Up to 2.5 float32 ulp from the true value, and so not
 * `Math.fround(Math.exp(x))`. (numpy without AVX2, or on other CPUs, calls the C library's
 * `expf`.)
 */
export function expFloat32(x: number): number {
  x = f32(x);
  if (x !== x) return NaN;
  if (x >= EXP_XMAX) return Infinity;
  if (x <= EXP_XMIN) return 0;
  // rint(x log2 e) by the magic number: numpy's build (GCC, -ffp-contract=fast) fuses the
  // multiply and the add of the intrinsics into one FMA, so the product is never rounded alone
  const k = f32(fmaF32(x, LOG2E_F, CVT_MAGIC_F) - CVT_MAGIC_F);
  let r = fmaF32(k, LN2_HI_F, x);
  r = fmaF32(k, LN2_LO_F, r);
  let num = fmaF32(P_F[5], r, P_F[4]);
  num = fmaF32(num, r, P_F[3]);
  num = fmaF32(num, r, P_F[2]);
  num = fmaF32(num, r, P_F[1]);
  num = fmaF32(num, r, P_F[0]);
  let den = fmaF32(Q_F[2], r, Q_F[1]);
  den = fmaF32(den, r, Q_F[0]);
  // scalef: poly * 2^k rounded once (exact unless the result is subnormal)
  return f32(f32(num / den) * 2 ** k);
}

/**
 * A threshold as numpy compares it with a float32 array: cast to float32 (value-based casting of
 * a Python float), unless it is beyond float32's range, where numpy compares in float64.
 */
function thresholdF32(t: number): number {
  const t32 = f32(t);
  return Number.isFinite(t32) || !Number.isFinite(t) ? t32 : t;
}

// ---- OKS and the NMS -----------------------------------------------------------------------

/** One person as the NMS reads it (mmpose's `kpts_db` entries). */
export interface OksPerson {
  /** `[x0, y0, s0, x1, y1, s1, ...]`: K keypoints with their scores (read as float32). */
  readonly keypoints: ArrayLike<number>;
  /** The person's score, which orders the NMS (float64). */
  readonly score: number;
  /** The box area (`all_boxes[:, 4]`: `prod(scale * 200)`, float32). */
  readonly area: number;
}

function invalid(message: string): SRPoseError {
  return new SRPoseError('INVALID_OPTION', message);
}

function checkSigmas(sigmas: ArrayLike<number>): void {
  if (sigmas.length === 0) throw invalid('sigmas must hold one sigma per keypoint, got none');
  for (let j = 0; j < sigmas.length; j++) {
    if (!Number.isFinite(sigmas[j]) || !(sigmas[j] > 0)) {
      throw invalid(`sigmas[${j}] must be a finite number > 0, got ${sigmas[j]}`);
    }
  }
}

function checkKeypoints(kp: ArrayLike<number>, k: number, what: string): void {
  if (!kp || kp.length !== 3 * k) {
    throw invalid(
      `${what} must hold ${3 * k} values (${k} keypoints x [x, y, score]), got ${
        kp ? kp.length : kp
      }`,
    );
  }
}

function checkNumber(v: unknown, name: string, optional = false): void {
  if (optional && v === undefined) return;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw invalid(`${name} must be a finite number, got ${v}`);
  }
}

/** The OKS of person `i` with each of `rest` (indices into `kpts`): both NMS loops' step. */
function oksOfRest(
  kpts: readonly OksPerson[],
  i: number,
  rest: readonly number[],
  sigmas: ArrayLike<number>,
  visThr?: number,
): Float32Array {
  const d = rest.map((r) => kpts[r].keypoints);
  const aD = rest.map((r) => kpts[r].area);
  return oksIouUnchecked(kpts[i].keypoints, d, kpts[i].area, aD, sigmas, visThr);
}

/**
 * mmpose's `oks_iou(g, d, a_g, a_d, sigmas, vis_thr)`: the OKS of person `g` with each of `d`,
 * `mean_k exp(-((dx^2 + dy^2) / (2 sigma_k)^2 / ((a_g + a_d) / 2 + eps) / 2))` over the
 * keypoints (only the ones of `d` whose score is above `visThr` when given; 0 when none is).
 *
 * @param g The kept person's keypoints, `[x, y, score] * K` (float32).
 * @param d The other people's keypoints, each `[x, y, score] * K` (float32).
 * @param aG The kept person's area (float32).
 * @param aD The other people's areas (float32).
 * @param sigmas One per keypoint; default {@link COCO_SIGMAS}.
 * @param visThr Leaves out the keypoints of `d` scoring at or below it (float32 comparison).
 * @returns The OKS of each of `d`, as float32 like mmpose's `np.float32` array.
 */
export function oksIou(
  g: ArrayLike<number>,
  d: readonly ArrayLike<number>[],
  aG: number,
  aD: ArrayLike<number>,
  sigmas: ArrayLike<number> = COCO_SIGMAS,
  visThr?: number,
): Float32Array {
  checkSigmas(sigmas);
  const k = sigmas.length;
  checkKeypoints(g, k, 'the keypoints of g');
  if (aD.length !== d.length) {
    throw invalid(`aD must hold one area per person of d (${d.length}), got ${aD.length}`);
  }
  checkNumber(visThr, 'visThr', true);
  for (let n = 0; n < d.length; n++) checkKeypoints(d[n], k, `the keypoints of d[${n}]`);
  return oksIouUnchecked(g, d, aG, aD, sigmas, visThr);
}

function oksIouUnchecked(
  g: ArrayLike<number>,
  d: readonly ArrayLike<number>[],
  aG: number,
  aD: ArrayLike<number>,
  sigmas: ArrayLike<number>,
  visThr: number | undefined,
): Float32Array {
  const k = sigmas.length;
  const vars = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    const s2 = sigmas[j] * 2;
    vars[j] = s2 * s2;
  }
  const vt = visThr === undefined ? undefined : thresholdF32(visThr);
  const ag = f32(aG);
  const terms = new Float64Array(k);
  const out = new Float32Array(d.length);
  for (let n = 0; n < d.length; n++) {
    const dn = d[n];
    // (a_g + a_d[n_d]) is a float32 sum; / 2 and + np.spacing(1) promote it to float64
    const den = f32(ag + f32(aD[n])) / 2 + Number.EPSILON;
    let m = 0;
    for (let j = 0; j < k; j++) {
      if (vt !== undefined && !(f32(dn[3 * j + 2]) > vt)) continue;
      const dx = f32(f32(dn[3 * j]) - f32(g[3 * j]));
      const dy = f32(f32(dn[3 * j + 1]) - f32(g[3 * j + 1]));
      const sq = f32(f32(dx * dx) + f32(dy * dy));
      terms[m++] = Math.exp(-(sq / vars[j] / den / 2));
    }
    out[n] = m !== 0 ? pairwiseSum((i) => terms[i], m) / m : 0;
  }
  return out;
}

function checkPeople(kpts: readonly OksPerson[], sigmas: ArrayLike<number>): void {
  checkSigmas(sigmas);
  kpts.forEach((p, i) => {
    checkKeypoints(p?.keypoints, sigmas.length, `kpts[${i}].keypoints`);
    if (typeof p.score !== 'number' || typeof p.area !== 'number') {
      throw invalid(`kpts[${i}] must have a numeric score and area`);
    }
  });
}

/**
 * mmpose's `oks_nms(kpts_db, thr, sigmas, vis_thr)`: greedily keeps the highest-scored person
 * left (in `scores.argsort()[::-1]` order) and drops every other whose OKS with it is above
 * `thr` (keeps `oks <= thr`, in float32).
 *
 * @param kpts The people of one image.
 * @param thr The OKS threshold (`oks_thr`, 0.9 in the official configurations).
 * @param sigmas One per keypoint; default {@link COCO_SIGMAS}.
 * @param visThr Passed to {@link oksIou}; the datasets' `evaluate` leaves it out.
 * @returns The indices into `kpts` kept, in the order kept.
 */
export function oksNms(
  kpts: readonly OksPerson[],
  thr: number,
  sigmas: ArrayLike<number> = COCO_SIGMAS,
  visThr?: number,
): number[] {
  checkNumber(thr, 'thr');
  checkNumber(visThr, 'visThr', true);
  checkPeople(kpts, sigmas);
  if (kpts.length === 0) return [];
  const t = thresholdF32(thr);
  let order = argsortDescending(Float64Array.from(kpts, (p) => p.score));
  const keep: number[] = [];
  while (order.length > 0) {
    const i = order[0];
    keep.push(i);
    const rest = order.slice(1);
    const ious = oksOfRest(kpts, i, rest, sigmas, visThr);
    order = rest.filter((_, q) => ious[q] <= t);
  }
  return keep;
}

/**
 * mmpose's `soft_oks_nms(kpts_db, thr, max_dets, sigmas, vis_thr)`: repeatedly picks the
 * highest-scored person left, then decays every other's score by `exp(-oks^2 / thr)` (numpy's
 * float32 `exp`, the product in float64) and sorts them again (numpy's unstable argsort), up to
 * `maxDets` picks. Nobody is dropped for overlap: the decay only reorders.
 *
 * @param kpts The people of one image.
 * @param thr The decay's denominator (`oks_thr`), > 0.
 * @param maxDets The most people kept; default {@link SOFT_OKS_NMS_MAX_DETS} (20).
 * @param sigmas One per keypoint; default {@link COCO_SIGMAS}.
 * @param visThr Passed to {@link oksIou}; the datasets' `evaluate` leaves it out.
 * @returns The indices into `kpts` picked, in the order picked.
 */
export function softOksNms(
  kpts: readonly OksPerson[],
  thr: number,
  maxDets: number = SOFT_OKS_NMS_MAX_DETS,
  sigmas: ArrayLike<number> = COCO_SIGMAS,
  visThr?: number,
): number[] {
  checkNumber(thr, 'thr');
  if (!(thr > 0)) throw invalid(`thr must be > 0 for the soft NMS's decay, got ${thr}`);
  if (!Number.isInteger(maxDets) || maxDets < 0) {
    throw invalid(`maxDets must be an integer >= 0, got ${maxDets}`);
  }
  checkNumber(visThr, 'visThr', true);
  checkPeople(kpts, sigmas);
  if (kpts.length === 0) return [];
  const t = thresholdF32(thr);
  const scores = Float64Array.from(kpts, (p) => p.score);
  let order = argsortDescending(scores);
  let sc = order.map((o) => scores[o]);
  const keep: number[] = [];
  while (order.length > 0 && keep.length < maxDets) {
    const i = order[0];
    const rest = order.slice(1);
    const ious = oksOfRest(kpts, i, rest, sigmas, visThr);
    // _rescore: scores * np.exp(-overlap**2 / thr), the exponent in float32
    const decayed = rest.map((_, q) => sc[q + 1] * expFloat32(f32(-f32(ious[q] * ious[q]) / t)));
    const tmp = argsortDescending(decayed);
    order = tmp.map((q) => rest[q]);
    sc = tmp.map((q) => decayed[q]);
    keep.push(i);
  }
  return keep;
}

// ---- the dataset's evaluate ----------------------------------------------------------------

/**
 * A person's evaluation score as `TopDownCocoDataset.evaluate` rescores it: the box score times
 * the mean of the keypoint scores above `visThr` (times 0 when none is). The keypoint scores and
 * the box score are float32 as mmpose stores them; they are compared with `visThr` and summed in
 * float64, so the result is float64.
 *
 * @param keypoints `[x, y, score] * K`.
 * @param boxScore The detector's box score (`bbox_score`; 1 with ground-truth boxes).
 * @param visThr The keypoint score threshold (`vis_thr`, 0.2 in the official configurations).
 */
export function rescoreByKeypoints(
  keypoints: ArrayLike<number>,
  boxScore: number,
  visThr: number,
): number {
  if (!keypoints || keypoints.length % 3 !== 0) {
    throw invalid(`keypoints must hold [x, y, score] triples, got ${keypoints?.length} values`);
  }
  checkNumber(visThr, 'visThr');
  let sum = 0;
  let valid = 0;
  for (let j = 2; j < keypoints.length; j += 3) {
    const s = f32(keypoints[j]);
    if (s > visThr) {
      sum += s;
      valid++;
    }
  }
  return (valid !== 0 ? sum / valid : 0) * f32(boxScore);
}

/** One person of an image as the top-down model's `decode` hands it to `evaluate`. */
export interface TopDownPerson {
  /** `[x, y, score] * K` in image pixels (`preds[i]`, float32). */
  readonly keypoints: ArrayLike<number>;
  /** The box score (`boxes[i][5]`, float32): the detector's, or 1 with ground-truth boxes. */
  readonly score: number;
  /** The box area (`boxes[i][4]` = `prod(scale * 200)`, float32). */
  readonly area: number;
  /**
   * The box's id (`bbox_id`): people are sorted by it and repeated ids dropped (the first of a
   * run kept), as `_sort_and_unique_bboxes`. A person without one takes its index in the list.
   */
  readonly bboxId?: number;
}

/** Options of {@link topDownPostprocess}; those left out take {@link COCO_TOPDOWN_EVAL}'s. */
export interface TopDownPostprocessOptions {
  /** `oks_thr`: the NMS threshold (default 0.9). */
  oksThr?: number;
  /** `vis_thr`: the rescoring's keypoint score threshold (default 0.2). */
  visThr?: number;
  /** `soft_nms` (default `false`). */
  softNms?: boolean;
  /** `use_nms` (default `true`): `false` keeps every (rescored) person. */
  useNms?: boolean;
  /** One per keypoint: {@link COCO_SIGMAS} (default) or `CROWDPOSE_SIGMAS` (src/core/sigmas.ts). */
  sigmas?: ArrayLike<number>;
  /** The soft NMS's `max_dets` (default 20, which `evaluate` never changes). */
  maxDets?: number;
}

/** A person `evaluate` writes to the results file. */
export interface TopDownKept<P extends TopDownPerson = TopDownPerson> {
  /** Its index in the image's input list. */
  index: number;
  /** The input person (keypoints, center, scale... as given). */
  person: P;
  /** Its rescored score ({@link rescoreByKeypoints}), the `score` of the results file. */
  score: number;
}

/**
 * The per-image step of `TopDownCocoDataset.evaluate` (and `TopDownCrowdPoseDataset`'s, which
 * is the same): sort the image's people by `bboxId` and drop repeated ids, rescore each
 * ({@link rescoreByKeypoints} with `visThr`), then keep those `oks_nms` (or `soft_oks_nms` with
 * its 20 picks) keeps at `oksThr`, without `vis_thr`, with the dataset's sigmas.
 *
 * @param perImage The people of each image (an image's people in any order).
 * @param options Defaults: {@link COCO_TOPDOWN_EVAL}'s values and {@link COCO_SIGMAS}.
 * @returns For each image, the people written to `result_keypoints.json`, in the order written.
 */
export function topDownPostprocess<P extends TopDownPerson>(
  perImage: readonly (readonly P[])[],
  options: TopDownPostprocessOptions = {},
): TopDownKept<P>[][] {
  const o = {
    oksThr: COCO_TOPDOWN_EVAL.oksThr,
    visThr: COCO_TOPDOWN_EVAL.visThr,
    softNms: COCO_TOPDOWN_EVAL.softNms,
    useNms: COCO_TOPDOWN_EVAL.useNms,
    sigmas: COCO_SIGMAS as ArrayLike<number>,
    maxDets: SOFT_OKS_NMS_MAX_DETS,
    ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
  };
  checkNumber(o.oksThr, 'oksThr');
  checkNumber(o.visThr, 'visThr');
  if (typeof o.softNms !== 'boolean') throw invalid(`softNms must be a boolean, got ${o.softNms}`);
  if (typeof o.useNms !== 'boolean') throw invalid(`useNms must be a boolean, got ${o.useNms}`);
  return perImage.map((people) => {
    const scored: TopDownKept<P>[] = sortAndUnique(people).map((i) => ({
      index: i,
      person: people[i],
      score: rescoreByKeypoints(people[i].keypoints, people[i].score, o.visThr),
    }));
    if (!o.useNms) return scored;
    const db = scored.map((s) => ({
      keypoints: s.person.keypoints,
      score: s.score,
      area: s.person.area,
    }));
    const keep = o.softNms
      ? softOksNms(db, o.oksThr, o.maxDets, o.sigmas)
      : oksNms(db, o.oksThr, o.sigmas);
    return keep.map((k) => scored[k]);
  });
}

/**
 * `_sort_and_unique_bboxes` for one image: indices sorted by `bboxId` (Python's stable sort),
 * the later ones of each run of equal ids dropped.
 */
function sortAndUnique(people: readonly TopDownPerson[]): number[] {
  const id = (i: number) => people[i].bboxId ?? i;
  const order = people.map((_, i) => i).sort((a, b) => id(a) - id(b) || a - b);
  return order.filter((i, q) => q === 0 || id(order[q - 1]) !== id(i));
}
