/**
 * The demo page's script (bundled into dist/browser/demo.mjs): pick, drop or capture a photo,
 * estimate in this browser (WebGPU or WASM, optionally in a worker) or on the server, and see
 * the skeletons, the keypoints, the backend and the timings. `window.srposeDemo` exposes the
 * same steps to scripts (the browser tests drive the page through it).
 */
import {
  createEstimator,
  createPoseTracker,
  createWorkerEstimator,
  drawPoses,
  type TrackedPerson,
} from '../browser.ts';
import { checkInputs } from './inputs.ts';
import type {
  BackendRequest,
  Box,
  EstimateResult,
  Estimator,
  ImageInput,
  Pixels,
  WeightsRequest,
} from '../types.ts';

interface DemoConfig {
  models: { name: string; source: string }[];
  detectors?: { name: string; source: string }[];
}
type Mode = BackendRequest | 'server';
interface RunOptions {
  model?: string;
  backend?: Mode;
  worker?: boolean;
  boxes?: Box[];
  flipTest?: boolean;
  /** Scripts only (benchmarks): the weights to load, default `auto`. */
  weights?: WeightsRequest;
  /** A person detector's source (`''`: none); default the page's choice. */
  detector?: string;
}

// onnxruntime-web fixes its WASM threads when the page's first session starts: `?threads=N`
// picks them for the whole page (default: all cores when cross-origin isolated).
const pageThreads = Number(new URLSearchParams(location.search).get('threads')) || undefined;
// `?hub=URL`: the Hub endpoint that models given by Hub id come from (default the Hugging Face Hub)
const pageHub = new URLSearchParams(location.search).get('hub') || undefined;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const ui = {
  model: $<HTMLSelectElement>('model'),
  detector: $<HTMLSelectElement>('detector'),
  backend: $<HTMLSelectElement>('backend'),
  worker: $<HTMLInputElement>('worker'),
  flip: $<HTMLInputElement>('flip'),
  box: $<HTMLInputElement>('box'),
  file: $<HTMLInputElement>('file'),
  drop: $<HTMLElement>('drop'),
  camera: $<HTMLButtonElement>('camera'),
  video: $<HTMLVideoElement>('video'),
  canvas: $<HTMLCanvasElement>('canvas'),
  status: $<HTMLElement>('status'),
  info: $<HTMLElement>('info'),
  table: $<HTMLTableSectionElement>('keypoints'),
};

const config: Promise<DemoConfig> = fetch('demo/config.json').then((r) => r.json());
const estimators = new Map<string, Promise<Estimator>>();
let last: EstimateResult | undefined;
let lastError: { code?: string; message: string } | undefined;

function status(text: string, error = false): void {
  ui.status.textContent = text;
  ui.status.className = error ? 'error' : '';
}

/** One estimator per (model, backend, worker), created on first use and kept. */
function estimatorFor(
  source: string,
  backend: BackendRequest,
  worker: boolean,
  weights?: WeightsRequest,
  detector?: string,
): Promise<Estimator> {
  const key = JSON.stringify([source, backend, worker, weights, detector]);
  let e = estimators.get(key);
  if (!e) {
    const model = /^[\w.-]+\/[\w.-]+(@[\w./-]+)?$/.test(source)
      ? source
      : new URL(source, location.href).href;
    const onProgress = (p: { file: string; loaded: number; total: number }) =>
      status(
        `downloading ${p.file}: ${(p.loaded / 1e6).toFixed(1)} / ${(p.total / 1e6).toFixed(1)} MB`,
      );
    const options = {
      model,
      backend,
      onProgress,
      threads: pageThreads,
      ...(pageHub ? { hubUrl: pageHub } : {}),
      weights,
      ...(detector ? { detector: new URL(detector, location.href).href } : {}),
    };
    e = worker ? createWorkerEstimator(options) : createEstimator(options);
    e.catch(() => estimators.delete(key));
    estimators.set(key, e);
  }
  return e;
}

async function onServer(image: Blob, o: RunOptions): Promise<EstimateResult> {
  const q = new URLSearchParams();
  if (o.boxes) q.set('boxes', JSON.stringify(o.boxes));
  if (o.flipTest !== undefined) q.set('flip', String(o.flipTest));
  const res = await fetch(`v1/estimate?${q}`, {
    method: 'POST',
    body: image,
    headers: { 'content-type': image.type || 'application/octet-stream' },
  });
  const body = await res.json();
  if (!res.ok) {
    throw Object.assign(new Error(body.error?.message ?? res.statusText), {
      code: body.error?.code,
    });
  }
  return body;
}

function parseBox(text: string): Box[] | undefined {
  const v = text.trim().split(/[\s,]+/).filter(Boolean).map(Number);
  return v.length === 4 && v.every(Number.isFinite) ? [v as unknown as Box] : undefined;
}

/** What a script asks for shows in the controls, so a screenshot tells what ran. */
function showChoices(o: RunOptions): void {
  if (o.model) ui.model.value = o.model;
  if (o.detector !== undefined) ui.detector.value = o.detector;
  if (o.backend) ui.backend.value = o.backend;
  if (o.worker !== undefined) ui.worker.checked = o.worker;
  if (o.flipTest !== undefined) ui.flip.checked = o.flipTest;
}

/** The estimator for `o`, the page's controls filling in what it leaves out. */
async function pageEstimator(o: RunOptions, mode: BackendRequest): Promise<Estimator> {
  return await estimatorFor(
    o.model ?? ui.model.value ?? (await config).models[0]?.source,
    mode,
    o.worker ?? ui.worker.checked,
    o.weights,
    o.detector ?? ui.detector.value,
  );
}

/** Estimates `image` with the page's settings (or `o`), then draws and lists the result. */
async function run(image: Blob | Pixels, o: RunOptions = {}): Promise<EstimateResult> {
  showChoices(o);
  const mode = o.backend ?? (ui.backend.value as Mode);
  const opts = {
    boxes: o.boxes ?? parseBox(ui.box.value),
    flipTest: o.flipTest ?? ui.flip.checked,
  };
  status('estimating...');
  lastError = undefined;
  try {
    let result: EstimateResult;
    let skeleton: readonly (readonly [number, number])[];
    if (mode === 'server') {
      if (!(image instanceof Blob)) throw new Error('the server mode needs a photo file');
      result = await onServer(image, opts);
      skeleton = (await (await fetch('v1/models')).json()).models?.[0]?.skeleton ?? [];
    } else {
      const est = await pageEstimator(o, mode);
      const input: ImageInput = image instanceof Blob
        ? new Uint8Array(await image.arrayBuffer())
        : image;
      result = await est.estimate(input, opts);
      skeleton = est.info.skeleton;
    }
    last = result;
    await draw(image, result, skeleton);
    report(result);
    status(
      `${result.people.length} ${result.people.length === 1 ? 'person' : 'people'} in ${
        result.timings.total.toFixed(0)
      } ms`,
    );
    return result;
  } catch (e) {
    lastError = { code: (e as { code?: string }).code, message: (e as Error).message };
    status(`${lastError.code ?? 'error'}: ${lastError.message}`, true);
    throw e;
  }
}

async function draw(
  image: Blob | Pixels,
  r: EstimateResult,
  skeleton: readonly (readonly [number, number])[],
): Promise<void> {
  const c = ui.canvas;
  const ctx = c.getContext('2d')!;
  c.width = r.image.width;
  c.height = r.image.height;
  if (image instanceof Blob) ctx.drawImage(await createImageBitmap(image), 0, 0);
  else {
    const rgba = new Uint8ClampedArray(image.width * image.height * 4);
    const ch = image.channels ?? (image.data.length === image.width * image.height * 4 ? 4 : 3);
    for (let i = 0, j = 0; i < rgba.length; i += 4, j += ch) {
      rgba[i] = image.data[j];
      rgba[i + 1] = image.data[j + 1];
      rgba[i + 2] = image.data[j + 2];
      rgba[i + 3] = 255;
    }
    ctx.putImageData(new ImageData(rgba, image.width, image.height), 0, 0);
  }
  const s = Math.max(2, Math.round(Math.max(c.width, c.height) / 200));
  ctx.strokeStyle = '#39f';
  ctx.lineWidth = s / 2;
  for (const p of r.people) ctx.strokeRect(...p.box);
  drawPoses(ctx, r.people, { skeleton });
}

function report(r: EstimateResult): void {
  const t = r.timings;
  ui.info.textContent = `backend ${r.backend}, ${r.threads} thread${r.threads === 1 ? '' : 's'}` +
    (r.fallbackReason ? ` (${r.fallbackReason})` : '') +
    ` | decode ${t.decode.toFixed(1)} ms, crop ${t.crop.toFixed(1)}, inference ${
      t.inference.toFixed(1)
    }, post ${t.postprocess.toFixed(1)}, total ${t.total.toFixed(1)}` +
    ` | page ${crossOriginIsolated ? '' : 'not '}cross-origin isolated`;
  ui.table.replaceChildren(...r.people.flatMap((p, i) =>
    p.keypoints.map((k) => {
      const tr = document.createElement('tr');
      for (const v of [String(i), k.name, k.x.toFixed(1), k.y.toFixed(1), k.score.toFixed(3)]) {
        const td = document.createElement('td');
        td.textContent = v;
        tr.append(td);
      }
      return tr;
    })
  ));
}

/** Options of the live camera (scripts; the buttons use the page's settings). */
interface LiveOptions extends Omit<RunOptions, 'boxes' | 'flipTest'> {
  /** Find the people anew every this many frames (the tracker's `detectEvery`). */
  detectEvery?: number;
}

/** What the live camera has done so far (scripts and tests read it). */
interface LiveState {
  running: boolean;
  frames: number;
  /** Frames per second over the last second. */
  fps: number;
  backend?: string;
  /** The last frame's people: ids and whether the frame found them anew. */
  people: { id: number; box: Box }[];
  detected: boolean[];
  error?: { code?: string; message: string };
}

const live: LiveState = { running: false, frames: 0, fps: 0, people: [], detected: [] };
let stopLive: (() => void) | undefined;

/**
 * The camera button: live tracking. Each frame goes (as pixels read from the `<video>`) to the
 * estimator, in a worker when "run in a web worker" is on, and a pose tracker keeps ids across
 * frames and smooths the keypoints; the canvas shows the frame, the skeletons and their ids.
 * Pressed again, it stops.
 */
async function startCamera(o: LiveOptions = {}): Promise<void> {
  if (stopLive) return stopLive();
  showChoices(o);
  const mode = o.backend ?? (ui.backend.value as Mode);
  if (mode === 'server') {
    throw Object.assign(new Error('live tracking runs in this browser: pick WebGPU or WASM'), {
      code: 'INVALID_OPTION',
    });
  }
  let stream: MediaStream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: true });
  } catch (e) {
    const name = (e as Error).name;
    const why = name === 'NotAllowedError'
      ? 'camera access was refused'
      : name === 'NotFoundError' || name === 'OverconstrainedError'
      ? 'no camera was found'
      : `the camera could not start (${(e as Error).message})`;
    throw Object.assign(new Error(`${why}: pick or drop a photo instead`), { code: 'NO_CAMERA' });
  }
  const v = ui.video;
  v.srcObject = stream;
  await v.play();
  const est = await pageEstimator(o, mode);
  const tracker = createPoseTracker(est, { detectEvery: o.detectEvery });
  // a top-down model without detector tracks the box typed in, else the whole frame
  const finds = est.info.kind === 'bottom-up' || est.info.detector !== undefined;
  let running = true;
  stopLive = () => {
    running = false;
  };
  Object.assign(live, { running: true, frames: 0, fps: 0, people: [], detected: [] });
  live.error = undefined;
  ui.camera.textContent = 'Stop';
  const times: number[] = [];
  try {
    while (running) {
      await nextVideoFrame(v);
      const t = performance.now();
      const frame = await createImageBitmap(v);
      const boxes = finds || tracker.tracking > 0
        ? undefined
        : (parseBox(ui.box.value) ?? [[0, 0, frame.width, frame.height] as Box]);
      const r = await tracker.track(frame, t, boxes ? { boxes } : {});
      drawLive(frame, r.people, est.info.skeleton);
      frame.close();
      times.push(performance.now());
      while (times[0] < times[times.length - 1] - 1000) times.shift();
      live.frames++;
      live.fps = times.length > 1
        ? (times.length - 1) / ((times[times.length - 1] - times[0]) / 1000)
        : 0;
      live.backend = r.estimate.backend;
      live.people = r.people.map((p) => ({ id: p.id, box: p.box }));
      live.detected.push(r.detected);
      status(
        `live: ${r.people.length} ${r.people.length === 1 ? 'person' : 'people'}, ` +
          `${live.fps.toFixed(1)} frames/s, ${r.estimate.backend}`,
      );
    }
  } catch (e) {
    live.error = { code: (e as { code?: string }).code, message: (e as Error).message };
    throw e;
  } finally {
    live.running = false;
    stopLive = undefined;
    for (const track of stream.getTracks()) track.stop();
    v.srcObject = null;
    ui.camera.textContent = 'Camera';
  }
}

/**
 * Waits for the camera's next frame, so none is estimated twice (when estimating is faster
 * than the camera); without `requestVideoFrameCallback`, or when it stays silent, the next
 * animation frame or 200 ms.
 */
function nextVideoFrame(v: HTMLVideoElement): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 200);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    if ('requestVideoFrameCallback' in v) v.requestVideoFrameCallback(done);
    else requestAnimationFrame(done);
  });
}

/** The camera button's action: live tracking, its failure said in the status line. */
function camera(o?: LiveOptions): Promise<void> {
  return startCamera(o).catch((e) => {
    status(`camera: ${e.message}`, true);
    throw e;
  });
}

/** The frame, then each tracked person's box, skeleton and id. */
function drawLive(
  frame: ImageBitmap,
  people: TrackedPerson[],
  skeleton: readonly (readonly [number, number])[],
): void {
  const c = ui.canvas;
  const ctx = c.getContext('2d')!;
  if (c.width !== frame.width || c.height !== frame.height) {
    c.width = frame.width;
    c.height = frame.height;
  }
  ctx.drawImage(frame, 0, 0);
  const s = Math.max(2, Math.round(Math.max(c.width, c.height) / 200));
  ctx.lineWidth = s / 2;
  ctx.font = `bold ${6 * s}px system-ui, sans-serif`;
  for (const p of people) {
    const hue = (p.id * 137) % 360;
    ctx.strokeStyle = ctx.fillStyle = `hsl(${hue} 90% 55%)`;
    ctx.strokeRect(...p.box);
    ctx.fillText(`#${p.id}`, p.box[0] + s, p.box[1] + 7 * s);
  }
  drawPoses(ctx, people, { skeleton });
}

async function init(): Promise<void> {
  const cfg = await config;
  ui.model.replaceChildren(...cfg.models.map((m) => new Option(m.name, m.source)));
  ui.detector.append(...(cfg.detectors ?? []).map((m) => new Option(m.name, m.source)));
  ui.file.addEventListener(
    'change',
    () => ui.file.files?.[0] && run(ui.file.files[0]).catch(() => {}),
  );
  ui.drop.addEventListener('dragover', (e) => e.preventDefault());
  ui.drop.addEventListener('drop', (e) => {
    e.preventDefault();
    const f = e.dataTransfer?.files?.[0];
    if (f) run(f).catch(() => {});
  });
  ui.camera.addEventListener('click', () => camera().catch(() => {}));
  status(
    crossOriginIsolated
      ? 'ready (cross-origin isolated: WASM threads available)'
      : 'ready (not cross-origin isolated: WASM runs on one thread)',
  );
}

const ready = init();
Object.assign(globalThis, {
  srposeDemo: {
    ready,
    run: (bytes: Uint8Array | Blob, o?: RunOptions) =>
      run(bytes instanceof Blob ? bytes : new Blob([bytes as Uint8Array<ArrayBuffer>]), o),
    /** Every browser image kind of one JPEG through an estimator (see ./inputs.ts). */
    inputs: async (bytes: Uint8Array, o: RunOptions & { boxes: Box[] }) => {
      const source = o.model ?? (await config).models[0]!.source;
      const est = await estimatorFor(source, (o.backend ?? 'wasm') as BackendRequest, !!o.worker);
      return await checkInputs(bytes, est, o.boxes);
    },
    /** The estimator `run` would use (created if need be): its `info` (benchmarks read `load`). */
    info: async (o: RunOptions = {}) => {
      const est = await pageEstimator(o, (o.backend ?? 'wasm') as BackendRequest);
      return structuredClone(est.info);
    },
    /** Starts live tracking from the camera (resolves when it stops: `stopCamera`). */
    camera,
    stopCamera: () => stopLive?.(),
    get live() {
      return structuredClone(live);
    },
    get last() {
      return last;
    },
    get lastError() {
      return lastError;
    },
  },
});
