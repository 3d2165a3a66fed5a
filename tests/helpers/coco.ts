// The shared COCO photos with their person boxes: ground-truth boxes and detections of score
// >= 0.3 (as mmpose's test config keeps them), for parity tests and benchmarks.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SHARED } from './env.ts';

export type CocoSpec = { image: string; boxes: number[][] }[];

/** GT boxes and detections with score >= 0.3 for every COCO photo in ../shared/data/coco. */
export async function cocoSpec(): Promise<CocoSpec> {
  const ann = JSON.parse(await readFile(join(SHARED, 'coco', 'test_coco.json'), 'utf8'));
  const det = JSON.parse(
    await readFile(join(SHARED, 'coco', 'test_coco_det_AP_H_56.json'), 'utf8'),
  );
  return ann.images.map((im: any) => ({
    image: join(SHARED, 'coco', im.file_name),
    boxes: [
      ...ann.annotations.filter((a: any) => a.image_id === im.id).map((a: any) => a.bbox),
      ...det.filter((d: any) => d.image_id === im.id && d.score >= 0.3).map((d: any) => d.bbox),
    ],
  }));
}
