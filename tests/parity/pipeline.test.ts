// Pipeline parity on real COCO photos: estimate() (jsquash decode, OpenCV-exact crop,
// onnxruntime-web, TypeScript decode) vs the PyTorch reference pipeline (cv2.imread,
// cv2.warpAffine, torch model, official decode) on the same checkpoint, boxes and flip setting.
// >= 99% of keypoints within 0.25 heatmap pixels and all within 1.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hasModel, hasShared, modelDir, python, SHARED, skipUnless, tempDir } from '../helpers/env.ts';
import { createEstimator } from '../../src/estimator/estimator.ts';
import { boxToCenterScale } from '../../src/core/boxes.ts';

type Spec = { image: string; boxes: number[][] }[];

/** GT boxes and detections with score >= 0.3 for every COCO photo. */
async function cocoSpec(): Promise<Spec> {
  const ann = JSON.parse(await readFile(join(SHARED, 'coco', 'test_coco.json'), 'utf8'));
  const det = JSON.parse(await readFile(join(SHARED, 'coco', 'test_coco_det_AP_H_56.json'), 'utf8'));
  return ann.images.map((im: any) => ({
    image: join(SHARED, 'coco', im.file_name),
    boxes: [
      ...ann.annotations.filter((a: any) => a.image_id === im.id).map((a: any) => a.bbox),
      ...det.filter((d: any) => d.image_id === im.id && d.score >= 0.3).map((d: any) => d.bbox),
    ],
  }));
}

const cases: [arch: string, flip: boolean][] = [['res50', true], ['res50', false], ['res50_simple', true]];

for (const [arch, flip] of cases) {
  test(`${arch}, flip ${flip ? 'on' : 'off'}: estimate() matches the PyTorch reference pipeline on COCO photos`, async () => {
    if (skipUnless(hasShared, `../shared/data/coco not found: pipeline parity skipped`)) return;
    if (skipUnless(hasModel(arch), `${arch} test model missing: run npm run models`)) return;
    const dir = modelDir(arch);
    const spec = await cocoSpec();
    const tmp = await tempDir('srpose-pipe-');
    await writeFile(join(tmp, 'spec.json'), JSON.stringify(spec));
    await python(['models/reference.py', 'batch-pipeline', '--arch', arch, '--checkpoint', join(dir, 'checkpoint.pth'), '--spec', join(tmp, 'spec.json'), '--out', join(tmp, 'ref.json'), ...(flip ? ['--flip'] : [])]);
    const ref = JSON.parse(await readFile(join(tmp, 'ref.json'), 'utf8'));
    const est = await createEstimator({ model: dir, backend: 'wasm', flipTest: flip });
    const { width: hw, height: hh } = est.info.heatmap;
    const dists: number[] = [];
    try {
      for (let i = 0; i < spec.length; i++) {
        const r = await est.estimate(await readFile(spec[i].image), { boxes: spec[i].boxes as any });
        assert.is(r.people.length, spec[i].boxes.length);
        r.people.forEach((p, b) => {
          const { scale } = boxToCenterScale(spec[i].boxes[b] as any, est.info.input.width, est.info.input.height);
          const px = (scale[0] * 200) / hw; // image pixels per heatmap pixel
          const py = (scale[1] * 200) / hh;
          p.keypoints.forEach((k, j) => {
            const [x, y] = ref[i].keypoints[b][j];
            dists.push(Math.hypot((k.x - x) / px, (k.y - y) / py));
          });
        });
      }
    } finally {
      await est.dispose();
    }
    const within = dists.filter((d) => d <= 0.25).length / dists.length;
    const worst = Math.max(...dists);
    console.log(`    ${arch} flip=${flip}: ${dists.length} keypoints, ${(100 * within).toFixed(2)}% within 0.25 hm px, worst ${worst.toFixed(4)} hm px`);
    assert.ok(within >= 0.99, `only ${(100 * within).toFixed(2)}% within 0.25 heatmap px`);
    assert.ok(worst <= 1, `worst keypoint ${worst} heatmap px away`);
  });
}

test.run();
