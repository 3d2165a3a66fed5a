/**
 * Poses in video: people tracked from frame to frame over an estimator, as rtmlib's
 * `PoseTracker` and mmpose's pose tracking do. People are found (by the estimator's detector,
 * or by a bottom-up model, or from boxes the caller gives) on the first frame, then every
 * `detectEvery` frames or as soon as a tracked person is lost; in between, each person's box is
 * the bounding box of its last keypoints, so a frame costs the pose model alone. Ids are kept by
 * greedy matching on OKS or IoU (`src/core/track.ts`), and each track's keypoints are smoothed
 * by a One Euro filter driven by the frames' timestamps.
 * @module
 */
import { DEFAULT_ONE_EURO, KeypointSmoother, type OneEuroOptions } from '../core/one-euro.ts';
import { keypointBox, matchTracks, type TrackCandidate } from '../core/track.ts';
import { SRPoseError } from '../errors.ts';
import type { Box, EstimateResult, Estimator, ImageInput, Person } from '../types.ts';

/** Options of {@link createPoseTracker}. */
export interface TrackerOptions {
  /**
   * Find the people again (detector or bottom-up model) every this many frames; in between,
   * boxes come from the last keypoints. Default 10. 1 finds them on every frame.
   */
  detectEvery?: number;
  /** How a person is matched to the last frame's tracks: `oks` (default) or `iou`. */
  matchBy?: 'oks' | 'iou';
  /** The similarity a match needs (mmpose's `tracking_thr`). Default 0.3. */
  matchThreshold?: number;
  /**
   * Keypoints above this score make a person's next box, and count toward a new track (more
   * than `minKeypoints` of them). Default 0.3.
   */
  keypointThreshold?: number;
  /** A new track needs more than this many keypoints above the threshold (mmpose's 3). */
  minKeypoints?: number;
  /** How much a box from keypoints is enlarged about its centre. Default 1.25. */
  boxExpansion?: number;
  /**
   * One Euro smoothing of every track's keypoints, by the frames' timestamps: its parameters
   * (default `DEFAULT_ONE_EURO`, for pixels at about 30 fps: see `src/core/one-euro.ts`), or
   * `false` for none.
   */
  smoothing?: false | OneEuroOptions;
}

/** A tracked person: a {@link Person} with its track id (stable while it is tracked). */
export interface TrackedPerson extends Person {
  id: number;
}

/** One frame's result. */
export interface TrackResult {
  people: TrackedPerson[];
  /** The frame found its people anew (detector, bottom-up model or given boxes). */
  detected: boolean;
  timestampMs: number;
  /** The estimate's own result for this frame (timings, backend...), before smoothing. */
  estimate: EstimateResult;
}

/** A tracker of poses over frames. */
export interface PoseTracker {
  /**
   * Estimates and tracks one frame. `timestampMs` must increase from frame to frame (a video's
   * presentation time, `performance.now()`, `VideoFrame.timestamp / 1000`). `boxes`: the people
   * to track from this frame on, for an estimator without detector.
   */
  track(
    frame: ImageInput,
    timestampMs: number,
    options?: { boxes?: readonly Box[]; signal?: AbortSignal },
  ): Promise<TrackResult>;
  /** Forgets every track (the next frame finds the people anew, ids go on counting). */
  reset(): void;
  /**
   * How many people the next frame follows (0: it finds them anew, and a top-down estimator
   * without detector needs `boxes` again).
   */
  readonly tracking: number;
}

const DEFAULTS = {
  detectEvery: 10,
  matchBy: 'oks' as const,
  matchThreshold: 0.3,
  keypointThreshold: 0.3,
  minKeypoints: 3,
  boxExpansion: 1.25,
};

/** A tracked person: the box it was estimated in and its keypoints (what matching compares). */
interface Track extends TrackCandidate {
  id: number;
  /** The box for the next frame, from its keypoints. */
  next: Box;
  smoother?: KeypointSmoother;
}

/**
 * Creates a tracker over `estimator` (top-down with a detector, top-down given boxes, or
 * bottom-up).
 *
 * ```ts
 * const tracker = createPoseTracker(await createEstimator({ model, detector }));
 * for await (const frame of frames) {
 *   const { people } = await tracker.track(frame, frame.timestamp / 1000);
 * }
 * ```
 */
export function createPoseTracker(estimator: Estimator, options: TrackerOptions = {}): PoseTracker {
  const o = { ...DEFAULTS, ...options };
  const positiveInt = (v: number, name: string) => {
    if (!Number.isInteger(v) || v < 1) {
      throw new SRPoseError('INVALID_OPTION', `${name} must be a positive integer, got ${v}`);
    }
  };
  positiveInt(o.detectEvery, 'detectEvery');
  if (o.matchBy !== 'oks' && o.matchBy !== 'iou') {
    throw new SRPoseError('INVALID_OPTION', `matchBy must be "oks" or "iou", got ${o.matchBy}`);
  }
  for (
    const [name, v] of [['matchThreshold', o.matchThreshold], [
      'keypointThreshold',
      o.keypointThreshold,
    ]] as const
  ) {
    if (!(v >= 0 && v <= 1)) {
      throw new SRPoseError('INVALID_OPTION', `${name} must be in [0, 1], got ${v}`);
    }
  }
  if (!(o.boxExpansion >= 1 && o.boxExpansion <= 10)) {
    throw new SRPoseError(
      'INVALID_OPTION',
      `boxExpansion must be in [1, 10], got ${o.boxExpansion}`,
    );
  }
  // validated once here: a bad smoothing option fails now, not at the first new track
  const smoothing = o.smoothing === false ? undefined : (o.smoothing ?? DEFAULT_ONE_EURO);
  if (smoothing) new KeypointSmoother(1, smoothing);
  const bottomUp = estimator.info.kind === 'bottom-up';
  const hasDetector = estimator.info.detector !== undefined;

  let tracks: Track[] = [];
  let nextId = 0;
  let sinceDetect = Infinity;
  let lastTimestamp = -Infinity;

  const candidate = (p: Person): TrackCandidate & { scores: number[] } => {
    const coords = p.keypoints.flatMap((k) => [k.x, k.y]);
    const scores = p.keypoints.map((k) => k.score);
    return { box: p.box, coords, scores };
  };

  return {
    async track(frame, timestampMs, opt = {}) {
      if (!Number.isFinite(timestampMs) || timestampMs <= lastTimestamp) {
        throw new SRPoseError(
          'INVALID_OPTION',
          `timestamps must increase from frame to frame: ${timestampMs} after ${lastTimestamp}`,
        );
      }
      const given = opt.boxes;
      const find = given !== undefined || tracks.length === 0 || sinceDetect >= o.detectEvery;
      if (find && given === undefined && !bottomUp && !hasDetector && tracks.length === 0) {
        throw new SRPoseError(
          'INVALID_OPTION',
          'nobody to track: this top-down estimator has no detector; give boxes on the first ' +
            'frame (track(frame, t, { boxes })) or create it with a detector',
        );
      }
      // Carry the tracks' boxes when not finding anew (or when only a detector-less top-down
      // model could find, and it has tracks to carry).
      const carry = !bottomUp && (!find || (given === undefined && !hasDetector));
      const boxes = carry ? tracks.map((t) => t.next) : given;
      const estimate = bottomUp
        ? await estimator.estimate(frame, { signal: opt.signal })
        : await estimator.estimate(frame, { boxes, signal: opt.signal });
      lastTimestamp = timestampMs;
      const detected = !carry;
      sinceDetect = detected ? 1 : sinceDetect + 1;
      const people = estimate.people;
      const current = people.map(candidate);
      const match = matchTracks(current, tracks, {
        by: o.matchBy,
        threshold: o.matchThreshold,
      });
      const next: Track[] = [];
      const out: TrackedPerson[] = [];
      people.forEach((p, i) => {
        const c = current[i];
        const above = c.scores.filter((s) => s > o.keypointThreshold).length;
        const track = match[i] >= 0 ? tracks[match[i]] : undefined;
        // too little of a body: not a new track (mmpose's min_keypoints), and a tracked person
        // whose box shows that little is lost (found anew next frame)
        if (above <= o.minKeypoints) {
          if (track) sinceDetect = Infinity;
          return;
        }
        const id = track ? track.id : nextId++;
        const smoother = track
          ? track.smoother
          : smoothing
          ? new KeypointSmoother(c.scores.length, smoothing)
          : undefined;
        const coords = smoother
          ? smoother.smooth(c.coords, timestampMs)
          : Float64Array.from(c.coords);
        const keypoints = p.keypoints.map((k, j) => ({
          ...k,
          x: coords[2 * j],
          y: coords[2 * j + 1],
        }));
        out.push({ ...p, keypoints, id });
        // the next frame's box from the raw keypoints (smoothing lags behind fast movement)
        const box = keypointBox(c.coords, c.scores, o.keypointThreshold, o.boxExpansion);
        // lost when nothing is left to crop, or when the box has left the frame: found anew
        // next frame
        const { width: fw, height: fh } = estimate.image;
        if (box && box[0] < fw && box[1] < fh && box[0] + box[2] > 0 && box[1] + box[3] > 0) {
          next.push({ ...c, next: [...box] as Box, id, smoother });
        } else sinceDetect = Infinity;
      });
      if (next.length < tracks.length && !detected) sinceDetect = Infinity;
      tracks = next;
      return { people: out, detected, timestampMs, estimate };
    },
    reset() {
      tracks = [];
      sinceDetect = Infinity;
    },
    get tracking() {
      return tracks.length;
    },
  };
}
