/** Default largest image, in pixels, accepted before decoding (checked from the header). */
export const DEFAULT_MAX_PIXELS = 40_000_000;
/** mmpose's `vis_thr`: keypoints above it count toward a person's score. */
export const KEYPOINT_SCORE_THRESHOLD = 0.2;
/** Most boxes one call may carry; each is a 256x192 crop in one batch. */
export const DEFAULT_MAX_BOXES = 64;
