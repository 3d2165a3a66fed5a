// OpenCV references for the image tests: tests/image/cv2_dump.py writes what cv2 decodes,
// computes and crops into a temporary folder, with a JSON index.
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PYTHON, python, ROOT, SHARED, tempDir } from './env.ts';

const DUMP = join(ROOT, 'tests', 'image', 'cv2_dump.py');

/** Runs `cv2_dump.py mode`; undefined (with a [skip] line) without Python + OpenCV. */
export async function cv2Dump(mode: string): Promise<{ dir: string; index: any } | undefined> {
  if (!existsSync(PYTHON)) return void console.log(`  [skip] ${PYTHON} not found: no OpenCV reference for ${mode}`);
  const dir = await tempDir('srpose-cv2-');
  try {
    return { dir, index: await python([DUMP, mode, dir, SHARED]) };
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    if (/No module named '(cv2|numpy)'/.test(String(e))) return void console.log(`  [skip] ${PYTHON} has no OpenCV: no reference for ${mode}`);
    throw e;
  }
}

/** First differing byte as "pixel (x, y) channel c: got vs want", or undefined when equal. */
export function firstDifference(got: Uint8Array, want: Uint8Array, width: number, channels = 3): string | undefined {
  if (got.length !== want.length) return `length ${got.length} vs ${want.length}`;
  for (let i = 0; i < got.length; i++) {
    if (got[i] !== want[i]) {
      const p = Math.floor(i / channels);
      let n = 0;
      for (let j = i; j < got.length; j++) if (got[j] !== want[j]) n++;
      return `pixel (${p % width}, ${Math.floor(p / width)}) channel ${i % channels}: ${got[i]} vs ${want[i]} (${n} bytes differ)`;
    }
  }
  return undefined;
}
