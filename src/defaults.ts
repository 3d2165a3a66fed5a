/** Default largest image, in pixels, accepted before decoding (checked from the header). */
export const DEFAULT_MAX_PIXELS = 40_000_000;
/** mmpose's `vis_thr`: keypoints above it count toward a person's score. */
export const KEYPOINT_SCORE_THRESHOLD = 0.2;
/**
 * Lowest detector score of a person passed to the pose model: 0.3, as rtmlib's YOLOX and
 * mmpose's top-down demos (`bbox_thr`) filter detections.
 */
export const DEFAULT_DETECTION_SCORE = 0.3;
/** Most boxes one call may carry; each is a 256x192 crop in one batch. */
export const DEFAULT_MAX_BOXES = 64;
/**
 * Most crops in one `session.run` (a box under the flip test counts two): more boxes go through
 * in chunks, so a request's memory is bounded by the chunk. Chosen by `npm run bench -- batch`
 * (throughput and peak memory per chunk size).
 */
export const DEFAULT_MAX_BATCH = 4;
/**
 * The model edge functions (Cloudflare Workers, Deno Deploy) serve when `SRPOSE_MODEL` is not
 * set: SRPose with the HRFormer-S backbone (8.9M parameters), sized for a 128 MB isolate.
 * Publish it there with `srpose publish .cache/models/hrformer_s --repo <this id> --create`,
 * or point `SRPOSE_MODEL` at your own copy.
 */
export const DEFAULT_EDGE_MODEL = 'srpose/srpose-hrformer-s-coco-256x192';
/**
 * The weights of {@link DEFAULT_EDGE_MODEL} at the edge: int8 is dequantized op by op, so the
 * WASM heap stays well below what fp16 and fp32 (dequantized at load) take, which overflow a
 * 128 MB isolate with the JS heap. The workerd test "the edge model fits the 128 MB isolate"
 * (tests/functions/workerd.test.ts) measures the isolate's memory, `npm run bench -- models`
 * each variant's; numbers in docs/deploy.md "Cloudflare Workers".
 */
export const DEFAULT_EDGE_WEIGHTS = 'int8';
/**
 * The person detector paired with {@link DEFAULT_EDGE_MODEL} at the edge (a request without
 * boxes gets every person): YOLOX-nano at 416x416, the smallest official YOLOX, in the
 * fp32 weights its exporter writes. Publish it there with
 * `srpose publish .cache/models/yolox_nano --repo <this id> --create` (or an export of the
 * official checkpoint: docs/detector.md), point `SRPOSE_DETECTOR` at your own copy, or turn it
 * off with `SRPOSE_DETECTOR=none`. Measured beside the pose model in the isolate: docs/deploy.md.
 */
export const DEFAULT_EDGE_DETECTOR = 'srpose/yolox-nano-coco-416';
