/**
 * The 1€ filter (Casiez, Roussel, Vogel, "1€ Filter: A Simple Speed-based Low-pass Filter for
 * Noisy Input in Interactive Systems", CHI 2012) for keypoints in video: a first-order low-pass
 * filter whose cutoff rises with the signal's speed, so a still keypoint stops jittering and a
 * moving one lags little.
 *
 * Step for step the authors' reference code (github.com/casiez/OneEuroFilter, the C++, Python
 * and TypeScript versions at https://gery.casiez.net/1euro/), for each new sample `x` at time
 * `t` (seconds, here `timestampMs / 1000`):
 *
 * - `rate = 1 / (t - tPrev)` when `t > tPrev`; otherwise (the same or an earlier timestamp)
 *   the previous rate stays, and `tPrev = t` either way. Before two increasing timestamps the
 *   rate is `frequency` (default 30 Hz). A repeated timestamp is thus filtered as one more
 *   sample at the last rate: finite, never a division by zero.
 * - the first sample passes through and starts the state: `x̂ = x`, `dx̂ = 0`;
 * - `dx = (x - x̂prev) * rate` (against the previous *filtered* value, as the reference does
 *   since 2023), `dx̂ = dx̂prev + α(dCutoff) * (dx - dx̂prev)`;
 * - `cutoff = minCutoff + beta * |dx̂|`, `x̂ = x̂prev + α(cutoff) * (x - x̂prev)`;
 * - `α(fc) = 1 / (1 + τ / Te)` with `τ = 1 / (2π fc)` and `Te = 1 / rate`.
 *
 * The rate comes from the timestamps, never from a frame count: a clip at 60 fps is smoothed
 * like the same motion at 30 fps. One addition to the reference: a non-finite value (a lost
 * keypoint) comes back as is and its signal starts afresh at the next finite value, where the
 * reference would return NaN from then on.
 * @module
 */
import { SRPoseError } from '../errors.ts';

/** Parameters of the 1€ filter; the ones left out take {@link DEFAULT_ONE_EURO}'s. */
export interface OneEuroOptions {
  /** Cutoff (Hz, > 0) at rest: lower removes more jitter and lags more at low speed. */
  minCutoff?: number;
  /**
   * Cutoff increase per unit of speed (Hz per (unit / s), >= 0; for pixels, 1 / px): higher
   * lags less on fast movement and lets more jitter through.
   */
  beta?: number;
  /** Cutoff (Hz, > 0) of the speed estimate's own low-pass filter. */
  dCutoff?: number;
  /**
   * The sampling rate (Hz, > 0) assumed until two increasing timestamps have been seen (the
   * reference's `freq`): it only matters when the second sample repeats the first's timestamp.
   */
  frequency?: number;
}

/**
 * Defaults for body keypoints in image pixels at about 30 fps, measured on synthetic tracks in
 * tests/core/one-euro.test.ts (a person a few hundred pixels tall):
 *
 * - `minCutoff` 0.5 Hz: 2 px of noise on a still pose comes out about 4x smaller (rms error;
 *   frame-to-frame jitter about 12x smaller). The reference's 1 Hz gives only about 3x.
 *   MediaPipe's pose smoothing goes further (0.1 Hz) and makes up with a much larger beta.
 * - `beta` 0.007 / px (the usual starting value of 1€ ports): the cutoff rises to ~5 Hz at
 *   300 px/s, a lag of ~34 ms (one frame at 30 fps), ~15 ms at 1000 px/s, ~60 ms at 100 px/s.
 *   Larger betas let the speed that noise fakes raise the cutoff at rest: at 0.02 the still
 *   pose's noise is only about 3x smaller. Speeds in pixels grow with the person's size:
 *   MediaPipe divides them by the box size (its beta 40 is per box size); here, for people
 *   much larger than ~500 px, a proportionally smaller beta keeps the same behaviour.
 * - `dCutoff` 1 Hz: the reference's default ("change this parameter if you know what you are
 *   doing"), as in MediaPipe.
 * - `frequency` 30 Hz: the common video rate, only used until the timestamps tell.
 */
export const DEFAULT_ONE_EURO: Readonly<Required<OneEuroOptions>> = Object.freeze({
  minCutoff: 0.5,
  beta: 0.007,
  dCutoff: 1.0,
  frequency: 30,
});

/** The options merged over the defaults and checked; `INVALID_OPTION` when out of domain. */
function resolve(options: OneEuroOptions): Required<OneEuroOptions> {
  const o = { ...DEFAULT_ONE_EURO, ...options };
  const check = (ok: boolean, name: keyof OneEuroOptions, domain: string) => {
    if (!ok) {
      throw new SRPoseError('INVALID_OPTION', `${name} must be ${domain}, got ${o[name]}`);
    }
  };
  const positive = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0;
  check(positive(o.minCutoff), 'minCutoff', 'a finite number of Hz > 0');
  check(
    typeof o.beta === 'number' && Number.isFinite(o.beta) && o.beta >= 0,
    'beta',
    'a finite number >= 0',
  );
  check(positive(o.dCutoff), 'dCutoff', 'a finite number of Hz > 0');
  check(positive(o.frequency), 'frequency', 'a finite number of Hz > 0');
  return o;
}

/** `α(fc)` of a first-order low-pass filter sampled at `rate` Hz, as the reference writes it. */
function alpha(cutoff: number, rate: number): number {
  const te = 1 / rate;
  const tau = 1 / (2 * Math.PI * cutoff);
  return 1 / (1 + tau / te);
}

/**
 * `n` signals sampled at the same instants, one 1€ filter each: the time state (last
 * timestamp, rate) is shared, the value state sits in typed arrays.
 */
class OneEuroBank {
  readonly #o: Required<OneEuroOptions>;
  /** Filtered value x̂ of each signal. */
  readonly #value: Float64Array;
  /** Filtered speed dx̂ of each signal, in units per second. */
  readonly #speed: Float64Array;
  /** 1 once a signal has had its first finite sample. */
  readonly #started: Uint8Array;
  /** Last timestamp in seconds; NaN before the first. */
  #lastTime = NaN;
  #rate: number;
  /** α(dCutoff) at the current rate. */
  #alphaD = 0;

  constructor(n: number, options: OneEuroOptions) {
    this.#o = resolve(options);
    this.#value = new Float64Array(n);
    this.#speed = new Float64Array(n);
    this.#started = new Uint8Array(n);
    this.#rate = this.#o.frequency;
  }

  /** Takes a new sampling instant: the rate from the timestamps, as the reference updates it. */
  tick(timestampMs: number): void {
    if (!Number.isFinite(timestampMs)) {
      throw new SRPoseError(
        'INVALID_OPTION',
        `timestampMs must be a finite number of milliseconds, got ${timestampMs}`,
      );
    }
    const t = timestampMs / 1000;
    // false while #lastTime is NaN (the first sample); a repeated or earlier t keeps the rate
    if (t > this.#lastTime) this.#rate = 1 / (t - this.#lastTime);
    this.#lastTime = t;
    this.#alphaD = alpha(this.#o.dCutoff, this.#rate);
  }

  /**
   * Filters sample `x` of signal `i` at the instant of the last {@link tick}. A non-finite `x`
   * (a lost keypoint) comes back as is and restarts that signal at its next finite sample.
   */
  filter(i: number, x: number): number {
    if (!Number.isFinite(x)) {
      this.#started[i] = 0;
      return x;
    }
    if (this.#started[i] === 0) {
      this.#started[i] = 1;
      this.#value[i] = x;
      this.#speed[i] = 0;
      return x;
    }
    const prev = this.#value[i];
    const rate = this.#rate;
    const dx = (x - prev) * rate;
    const a = this.#alphaD;
    const speed = a * dx + (1 - a) * this.#speed[i];
    this.#speed[i] = speed;
    const cutoff = this.#o.minCutoff + this.#o.beta * Math.abs(speed);
    const b = alpha(cutoff, rate);
    const value = b * x + (1 - b) * prev;
    this.#value[i] = value;
    return value;
  }

  /** Forgets every signal and the time: the next sample starts afresh. */
  reset(): void {
    this.#started.fill(0);
    this.#lastTime = NaN;
    this.#rate = this.#o.frequency;
  }
}

/**
 * The 1€ filter of one scalar signal.
 *
 * ```ts
 * const f = new OneEuroFilter({ minCutoff: 1, beta: 0.01 });
 * const y = f.filter(x, performance.now());
 * ```
 */
export class OneEuroFilter {
  readonly #bank: OneEuroBank;

  /** Throws `INVALID_OPTION` for an option outside its domain (see {@link OneEuroOptions}). */
  constructor(options: OneEuroOptions = DEFAULT_ONE_EURO) {
    this.#bank = new OneEuroBank(1, options);
  }

  /**
   * The filtered value of `value` sampled at `timestampMs` (a finite number of milliseconds,
   * e.g. `performance.now()` or a video frame's time; else `INVALID_OPTION`).
   */
  filter(value: number, timestampMs: number): number {
    this.#bank.tick(timestampMs);
    return this.#bank.filter(0, value);
  }

  /** Forgets the signal: the next sample passes through. */
  reset(): void {
    this.#bank.reset();
  }
}

/**
 * 1€ filters for the `(x, y)` of `numKeypoints` keypoints of one person, sampled together:
 * each coordinate is filtered on its own, all with the same parameters and timestamps. The
 * state lives in typed arrays; {@link smooth} allocates nothing when given `out`.
 */
export class KeypointSmoother {
  readonly numKeypoints: number;
  readonly #bank: OneEuroBank;

  /** Throws `INVALID_OPTION` for a bad count or an option outside its domain. */
  constructor(numKeypoints: number, options: OneEuroOptions = DEFAULT_ONE_EURO) {
    if (!Number.isInteger(numKeypoints) || numKeypoints < 1) {
      throw new SRPoseError(
        'INVALID_OPTION',
        `numKeypoints must be a positive integer, got ${numKeypoints}`,
      );
    }
    this.numKeypoints = numKeypoints;
    this.#bank = new OneEuroBank(2 * numKeypoints, options);
  }

  /**
   * Smooths one frame's keypoints. `coords`: `(K, 2)` row-major, `[x0, y0, x1, y1, ...]`;
   * `timestampMs`: the frame's time (finite milliseconds). Returns `out` (a new array when not
   * given; `out` may be `coords` itself), `(K, 2)` like `coords`. A non-finite coordinate (a
   * lost keypoint) comes back as is, and that coordinate starts afresh when it returns.
   */
  smooth(
    coords: ArrayLike<number>,
    timestampMs: number,
    out: Float64Array = new Float64Array(2 * this.numKeypoints),
  ): Float64Array {
    const n = 2 * this.numKeypoints;
    if (coords.length !== n || out.length !== n) {
      throw new SRPoseError(
        'INVALID_OPTION',
        `coords and out must hold 2 x ${this.numKeypoints} values, got ${coords.length} and ` +
          `${out.length}`,
      );
    }
    const bank = this.#bank;
    bank.tick(timestampMs);
    for (let i = 0; i < n; i++) out[i] = bank.filter(i, coords[i]);
    return out;
  }

  /** Forgets the track (lost, or a new person): the next frame passes through. */
  reset(): void {
    this.#bank.reset();
  }
}
