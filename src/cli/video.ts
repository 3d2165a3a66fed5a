/**
 * `srpose video`: poses tracked through a video file. ffmpeg decodes the frames
 * (src/platform/ffmpeg.ts), a pose tracker (src/estimator/tracker.ts) follows the people, one
 * JSON line per frame goes to `--out` (or standard output), and `--draw` writes the video with
 * the skeletons drawn.
 * @module
 */
import { createEstimator } from '../estimator/estimator.ts';
import { createPoseTracker, type TrackerOptions } from '../estimator/tracker.ts';
import { openVideoWriter, probeVideo, readVideoFrames } from '../platform/ffmpeg.ts';
import { nodeBuiltin } from '../platform/env.ts';
import { renderPoses } from '../image/draw.ts';
import { SRPoseError } from '../errors.ts';
import { estimatorOptions, parseBoxes, progressBar, rateBar } from './options.ts';
import type { Box } from '../types.ts';

/** One line of the output: a frame's tracked people. */
export interface VideoLine {
  frame: number;
  timestampMs: number;
  /** The frame found its people anew (detector, bottom-up model or given boxes). */
  detected: boolean;
  people: {
    id: number;
    box: Box;
    score: number;
    keypoints: { name: string; x: number; y: number; score: number }[];
  }[];
}

function trackerOptions(o: Record<string, any>): TrackerOptions {
  const t: TrackerOptions = {};
  if (o.detectEvery !== undefined) t.detectEvery = Number(o.detectEvery);
  if (o.matchBy !== undefined) t.matchBy = String(o.matchBy) as TrackerOptions['matchBy'];
  if (o.smooth === false) t.smoothing = false;
  return t;
}

/** Runs `srpose video <file>`; resolves to the exit code. */
export async function runVideo(
  file: string,
  o: Record<string, any>,
  out: (s: string) => void,
  err: (s: string) => void,
): Promise<number> {
  const boxes = o.boxes === undefined ? undefined : parseBoxes(String(o.boxes));
  const trackOptions = trackerOptions(o);
  // ffmpeg and the file are checked before the model is loaded
  const info = await probeVideo(file);
  const download = progressBar();
  const estimator = await createEstimator(estimatorOptions(o, download.update))
    .finally(download.stop);
  const fs = await nodeBuiltin<typeof import('node:fs')>('fs');
  const sink = o.out ? fs.createWriteStream(String(o.out)) : undefined;
  const writeLine = async (line: string) => {
    if (!sink) return out(line);
    if (!sink.write(line + '\n')) await new Promise((r) => sink.once('drain', r));
  };
  const bar = rateBar('frames', info.frames);
  let writer: Awaited<ReturnType<typeof openVideoWriter>> | undefined;
  const ids = new Set<number>();
  let frames = 0;
  const started = performance.now();
  try {
    const tracker = createPoseTracker(estimator, trackOptions);
    let last = -Infinity;
    const finds = estimator.info.kind === 'bottom-up' || estimator.info.detector !== undefined;
    for await (const frame of readVideoFrames(file)) {
      // a stream whose times repeat (or go back) still gets increasing ones
      const t = frame.timestampMs > last ? frame.timestampMs : last + 1e-3;
      last = t;
      // without a detector the given boxes start the tracks, and start them again when
      // everybody is lost (the tracker has nobody else to find)
      const restart = boxes && (frame.index === 0 || (!finds && tracker.tracking === 0));
      const r = await tracker.track(frame, t, restart ? { boxes } : {});
      const line: VideoLine = {
        frame: frame.index,
        timestampMs: frame.timestampMs,
        detected: r.detected,
        people: r.people.map((p) => ({
          id: p.id,
          box: p.box,
          score: p.score,
          keypoints: p.keypoints.map(({ name, x, y, score }) => ({ name, x, y, score })),
        })),
      };
      for (const p of r.people) ids.add(p.id);
      await writeLine(JSON.stringify(line));
      if (o.draw) {
        writer ??= await openVideoWriter(String(o.draw), {
          width: frame.width,
          height: frame.height,
          fps: info.fps ?? 30,
        });
        await writer.write(renderPoses(frame, r.people, estimator.info.skeleton).data);
      }
      frames++;
      bar.update(frames, frames / ((performance.now() - started) / 1000));
    }
    await writer?.close();
    writer = undefined;
  } finally {
    bar.stop();
    await writer?.close().catch(() => {});
    if (sink) await new Promise((r) => sink.end(r));
    await estimator.dispose();
  }
  const seconds = (performance.now() - started) / 1000;
  const summary = `${file}: ${frames} frames, ${ids.size} ${ids.size === 1 ? 'track' : 'tracks'}, ${
    (frames / seconds).toFixed(1)
  } frames/s`;
  const extra = [o.out && `wrote ${o.out}`, o.draw && `wrote ${o.draw}`].filter(Boolean);
  // with the lines on standard output the summary goes to standard error, keeping it JSON lines
  if (sink) out([summary, ...extra].join('\n'));
  else err([summary, ...extra].join('\n'));
  if (frames === 0) throw new SRPoseError('VIDEO_UNREADABLE', `${file} has no video frames`);
  return 0;
}
