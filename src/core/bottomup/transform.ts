/**
 * Grouped joints back to the image: mmpose 0.x `get_group_preds` (not UDP), i.e.
 * `transform_preds(person, center, scale, (W, H))` for each person. The official arrays are
 * float32 joints and a float64 scale; numpy 1.x computes `x * (scale_w * 200 / W) + cx -
 * scale_w * 200 * 0.5` in float32 (its float64 scalars are cast to float32 first), and so do we.
 * @module
 */
import type { BottomUpFrame } from './resize.ts';
import type { Grouped } from './types.ts';

const f32 = Math.fround;

/**
 * People (P, K, 3 + L) in input pixels -> coordinates (P, K, 2) in image pixels.
 * `w`, `h` are the heatmaps' size (the network input's: `project2image`).
 */
export function groupedToImage(
  g: Grouped,
  frame: BottomUpFrame,
  w: number,
  h: number,
): Float64Array {
  const { k, l } = g;
  const width = 3 + l;
  const sw = frame.scale[0] * 200.0;
  const sh = frame.scale[1] * 200.0;
  const ax = f32(sw / w);
  const ay = f32(sh / h);
  const bx = f32(frame.center[0]);
  const by = f32(frame.center[1]);
  const cx = f32(sw * 0.5);
  const cy = f32(sh * 0.5);
  const out = new Float64Array(g.people * k * 2);
  for (let i = 0; i < g.people * k; i++) {
    out[2 * i] = f32(f32(f32(g.joints[i * width] * ax) + bx) - cx);
    out[2 * i + 1] = f32(f32(f32(g.joints[i * width + 1] * ay) + by) - cy);
  }
  return out;
}
