// Keypoint displacement in heatmap pixels: a known offset in image pixels over a known box
// scales by heatmap width / padded box width.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { displacementSummary, heatmapDisplacements } from '../../src/core/displacement.ts';

const MODEL = { inputWidth: 192, inputHeight: 256, heatmapWidth: 48, padding: 1.25, pixelStd: 200 };

test('an image-pixel offset becomes heatmap pixels of the padded box', () => {
  // 150x200 box: aspect 3:4 already, padded x1.25 -> 187.5 px wide; 48 heatmap px over it
  const a = [10, 10, 50, 60];
  const b = [10 + 187.5 / 48, 10, 50, 60 + 2 * 187.5 / 48];
  const d = heatmapDisplacements(a, b, [[0, 0, 150, 200]], 2, MODEL);
  assert.ok(Math.abs(d[0] - 1) < 1e-9, String(d[0]));
  assert.ok(Math.abs(d[1] - 2) < 1e-9, String(d[1]));
  // a wide box is widened in height, not width: its width sets the scale
  const wide = heatmapDisplacements([0, 0], [400 * 1.25 / 48, 0], [[0, 0, 400, 100]], 1, MODEL);
  assert.ok(Math.abs(wide[0] - 1) < 1e-9, String(wide[0]));
});

test('summary: median, p95, max and shares within 0.1 and 1 px', () => {
  const d = Array.from({ length: 100 }, (_, i) => i / 50); // 0 .. 1.98
  const s = displacementSummary(d);
  assert.is(s.max, 1.98);
  assert.ok(Math.abs(s.median - 0.98) < 1e-9, String(s.median));
  assert.ok(Math.abs(s.p95 - 1.88) < 1e-9, String(s.p95));
  assert.is(s.within01, 6 / 100);
  assert.is(s.within1, 51 / 100);
  assert.equal(displacementSummary([]), { median: 0, p95: 0, max: 0, within01: 0, within1: 0 });
});

test.run();
