/**
 * Video files through the system's `ffmpeg` / `ffprobe` (Node and Deno, for `srpose video`):
 * frames decoded to RGB with their presentation times, and RGBA frames encoded back to a video.
 * ffmpeg reads every container and codec users bring and a JavaScript decoder would not;
 * it runs as a child process, so a broken file fails with a typed error, never a crash.
 * @module
 */
import { SRPoseError } from '../errors.ts';
import { nodeBuiltin } from './env.ts';
import type { ChildProcess } from 'node:child_process';

/** What `ffprobe` says of a video's first video stream. */
export interface VideoInfo {
  width: number;
  height: number;
  /** Average frames per second (the written video's rate), when known. */
  fps?: number;
  /** The number of frames, when the container says it (or duration x fps, rounded). */
  frames?: number;
}

/** One decoded frame: RGB pixels and its presentation time. */
export interface DecodedFrame {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 3;
  /** Frame number, from 0. */
  index: number;
  /** Presentation time in milliseconds, from the stream's own timestamps. */
  timestampMs: number;
}

const MISSING = (tool: string) =>
  new SRPoseError(
    'FFMPEG_UNAVAILABLE',
    `${tool} was not found on PATH: install FFmpeg (Debian/Ubuntu: apt-get install ffmpeg; ` +
      'macOS: brew install ffmpeg), then run again',
  );

async function spawn(tool: 'ffmpeg' | 'ffprobe', args: string[]): Promise<ChildProcess> {
  const cp = await nodeBuiltin<typeof import('node:child_process')>('child_process');
  const proc = cp.spawn(tool, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  // A missing binary is an 'error' event right after spawn, before any output.
  await new Promise<void>((resolve, reject) => {
    proc.once('spawn', resolve);
    proc.once(
      'error',
      (e: Error & { code?: string }) => reject(e.code === 'ENOENT' ? MISSING(tool) : e),
    );
  });
  return proc;
}

function exited(proc: ChildProcess): Promise<number> {
  if (proc.exitCode !== null) return Promise.resolve(proc.exitCode);
  return new Promise((resolve) => proc.once('close', (code) => resolve(code ?? 1)));
}

async function collect(stream: AsyncIterable<unknown> | null): Promise<string> {
  let s = '';
  if (stream) { for await (const chunk of stream) s += String(chunk); }
  return s;
}

function unreadable(path: string, stderr: string): SRPoseError {
  const why = stderr.trim().split('\n').filter((l) => !l.includes('Parsed_showinfo')).slice(-2)
    .join(' ').trim();
  return new SRPoseError('VIDEO_UNREADABLE', `cannot read video ${path}${why ? `: ${why}` : ''}`);
}

async function checkFile(path: string): Promise<void> {
  const fs = await nodeBuiltin<typeof import('node:fs/promises')>('fs/promises');
  const stat = await fs.stat(path).catch(() => undefined);
  if (!stat?.isFile()) {
    throw new SRPoseError('VIDEO_UNREADABLE', `cannot read video ${path} (no such file)`);
  }
}

/** A ratio such as `30000/1001`, or undefined for `0/0` and the like. */
function rate(text: unknown): number | undefined {
  const [n, d = '1'] = String(text ?? '').split('/');
  const v = Number(n) / Number(d);
  return Number.isFinite(v) && v > 0 ? v : undefined;
}

/** Probes `path` with ffprobe: its first video stream's size, rate and frame count. */
export async function probeVideo(path: string): Promise<VideoInfo> {
  await checkFile(path);
  const proc = await spawn('ffprobe', [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-show_entries',
    'stream=width,height,avg_frame_rate,nb_frames,duration:format=duration',
    '-of',
    'json',
    path,
  ]);
  const [out, err, code] = await Promise.all([
    collect(proc.stdout),
    collect(proc.stderr),
    exited(proc),
  ]);
  const s = code === 0 ? JSON.parse(out).streams?.[0] : undefined;
  if (!s?.width || !s?.height) throw unreadable(path, err || 'no video stream');
  const fps = rate(s.avg_frame_rate);
  const duration = Number(s.duration ?? JSON.parse(out).format?.duration);
  const frames = Number(s.nb_frames) > 0
    ? Number(s.nb_frames)
    : fps && duration > 0
    ? Math.round(duration * fps)
    : undefined;
  return { width: s.width, height: s.height, fps, frames };
}

/**
 * Decodes `path`'s first video stream to RGB frames, in presentation order, each with its
 * timestamp (ffmpeg's `showinfo` reports every frame's size and `pts_time` on stderr as it
 * passes; frames are never duplicated or dropped: `-vsync passthrough`). Rotation metadata is
 * applied, as players do. Breaking out of the loop stops ffmpeg.
 */
export async function* readVideoFrames(path: string): AsyncGenerator<DecodedFrame> {
  await checkFile(path);
  const proc = await spawn('ffmpeg', [
    '-hide_banner',
    '-nostats',
    '-nostdin',
    '-loglevel',
    'info',
    '-i',
    path,
    '-map',
    '0:v:0',
    '-vf',
    'showinfo',
    '-vsync',
    'passthrough',
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
    'pipe:1',
  ]);
  const exit = exited(proc);
  // stderr: frame sizes and times as they come, the rest kept for error messages
  const times: number[] = [];
  let size: [number, number] | undefined;
  let log = '';
  let wake: (() => void) | undefined;
  let stderrDone = false;
  let partial = '';
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      const t = /Parsed_showinfo.*\bpts_time:\s*(-?[\d.e+-]+)/.exec(line);
      if (t) {
        // to the microsecond: pts_time has six decimals, its product with 1000 float noise
        times.push(Math.round(Number(t[1]) * 1e6) / 1e3);
        const s = /\bs:(\d+)x(\d+)/.exec(line);
        if (s && !size) size = [Number(s[1]), Number(s[2])];
      } else log = (log + line + '\n').slice(-4000);
    }
    wake?.();
  });
  proc.stderr!.once('end', () => {
    stderrDone = true;
    wake?.();
  });
  const until = async (ready: () => boolean) => {
    while (!ready() && !stderrDone) await new Promise<void>((r) => (wake = r));
  };
  let finished = false;
  try {
    await until(() => size !== undefined);
    if (!size) {
      await exit;
      throw unreadable(path, log || 'no video frames');
    }
    const [width, height] = size;
    const bytes = width * height * 3;
    let frame = new Uint8Array(bytes);
    let filled = 0;
    let index = 0;
    for await (const chunk of proc.stdout! as AsyncIterable<Uint8Array>) {
      let at = 0;
      while (at < chunk.length) {
        const n = Math.min(bytes - filled, chunk.length - at);
        frame.set(chunk.subarray(at, at + n), filled);
        filled += n;
        at += n;
        if (filled === bytes) {
          await until(() => times.length > index);
          const timestampMs = times[index] ?? (index > 0 ? times[index - 1] : 0);
          yield { data: frame, width, height, channels: 3, index, timestampMs };
          index++;
          frame = new Uint8Array(bytes);
          filled = 0;
        }
      }
    }
    const code = await exit;
    if (code !== 0) throw unreadable(path, log);
    if (index === 0) throw unreadable(path, log || 'no video frames');
    finished = true;
  } finally {
    if (!finished && proc.exitCode === null) proc.kill();
  }
}

/** An ffmpeg process encoding RGBA frames into a video file. */
export interface VideoWriter {
  /** Queues one frame (waits while ffmpeg catches up). */
  write(rgba: Uint8Array | Uint8ClampedArray): Promise<void>;
  /** Ends the stream and waits for the file to be complete. */
  close(): Promise<void>;
}

/**
 * Starts ffmpeg writing `path` (container and codec from its extension, ffmpeg's defaults:
 * H.264 for .mp4 when built in) from `width` x `height` RGBA frames at `fps`.
 */
export async function openVideoWriter(
  path: string,
  o: { width: number; height: number; fps: number },
): Promise<VideoWriter> {
  const proc = await spawn('ffmpeg', [
    '-hide_banner',
    '-nostats',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgba',
    '-s',
    `${o.width}x${o.height}`,
    '-framerate',
    String(o.fps),
    '-i',
    'pipe:0',
    // 4:2:0 for players; it needs even sides
    '-vf',
    'pad=ceil(iw/2)*2:ceil(ih/2)*2',
    '-pix_fmt',
    'yuv420p',
    path,
  ]);
  const err = collect(proc.stderr);
  const exit = exited(proc);
  const failed = async () =>
    new SRPoseError(
      'VIDEO_UNREADABLE',
      `cannot write video ${path}: ${(await err).trim().split('\n').slice(-2).join(' ')}`,
    );
  // a broken pipe shows as the exit status, not as an unhandled stream error
  proc.stdin!.on('error', () => {});
  return {
    async write(rgba) {
      if (proc.exitCode !== null) throw await failed();
      if (!proc.stdin!.write(rgba)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            proc.stdin!.off('drain', done);
            proc.off('close', done);
            resolve();
          };
          proc.stdin!.once('drain', done);
          proc.once('close', done);
        });
      }
    },
    async close() {
      proc.stdin!.end();
      if ((await exit) !== 0) throw await failed();
    },
  };
}
