// Drives the demo page (src/demo/main.ts, served by the Node bundle with SRPOSE_DEMO=1) in
// headless Debian Chromium through playwright-core: shared by tests/browser/browser.test.ts and
// bench/browser.ts. Every wait is bounded.
import { Buffer } from 'node:buffer';
import { existsSync } from 'node:fs';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import process from 'node:process';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { python, ROOT, SHARED, tempDir } from '../helpers/env.ts';
import { freePort, type RunningServer, startServer } from '../helpers/servers.ts';
import type { Box, EstimateResult } from '../../src/types.ts';
import { decodeImage } from '../../src/image/decode.ts';
import type { InputsReport } from '../../src/demo/inputs.ts';

export const CHROMIUM = '/usr/bin/chromium';
/**
 * The flags this machine needs (no sandbox in the container, no GPU process, no network chatter).
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/**
 * What gives headless Chromium 156 (Debian) a WebGPU adapter here: this flag alone. It is
 * SwiftShader (vendor `google`, architecture `swiftshader`, `isFallbackAdapter` true); without it
 * `navigator.gpu` exists but `requestAdapter()` answers null. `--enable-features=Vulkan`,
 * `--use-angle=swiftshader` or `--use-webgpu-adapter=swiftshader` change nothing.
 */
export const WEBGPU_ARGS = ['--enable-unsafe-webgpu'];
export const PHOTO = join(SHARED, 'coco', '000000000785.jpg');
export const BOX: Box = [280.79, 44.73, 218.7, 346.68];
export const NODE_BUNDLE = join(ROOT, 'dist', 'node', 'index.mjs');
export const BROWSER_DIST = join(ROOT, 'dist', 'browser');

/** Why the browser tools are missing, or undefined when Chromium and the builds are there. */
export function browserMissing(): string | undefined {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} is missing (apt-get install chromium)`;
  for (
    const f of [
      'demo.mjs',
      'srpose.mjs',
      'srpose-worker.mjs',
      'ort.wasm.bundle.min.mjs',
      'ort.bundle.min.mjs',
    ]
  ) {
    if (!existsSync(join(BROWSER_DIST, f))) {
      return `dist/browser/${f} is missing (npx tsx scripts/build.ts browser node)`;
    }
  }
  if (!existsSync(NODE_BUNDLE)) {
    return 'dist/node/index.mjs is missing (npx tsx scripts/build.ts browser node)';
  }
  return undefined;
}

/** `p`, or a rejection naming `what` after `ms`. */
export function within<T>(ms: number, p: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: no answer in ${Math.round(ms / 1000)} s`)),
      ms,
    );
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/**
 * Exports the tiny SRPose model (tests/browser/tiny_srpose.py) into `dir`; resolves to its summary
 * line.
 */
export function exportTinySRPose(
  dir: string,
): Promise<{ onnxBytes: number; params: number; seconds: number }> {
  return python([join('tests', 'browser', 'tiny_srpose.py'), '--out', dir, '--seed', '0'], 180_000);
}

/**
 * A temporary folder of model folders for SRPOSE_DEMO_MODELS: `name -> existing model dir` as
 * symlinks.
 */
export async function servedModels(links: Record<string, string>): Promise<string> {
  const dir = await tempDir('srpose-browser-models-');
  for (const [name, target] of Object.entries(links)) await symlink(target, join(dir, name), 'dir');
  return dir;
}

/** The Node bundle serving the demo page and the model folders in `modelsDir`; no warm-up. */
export async function startDemoServer(modelsDir: string, model: string): Promise<RunningServer> {
  const port = await freePort();
  const node = process.execPath.includes('deno') ? 'node' : process.execPath;
  return await startServer({
    cmd: node,
    args: [NODE_BUNDLE],
    env: {
      SRPOSE_MODEL: model,
      SRPOSE_DEMO: '1',
      SRPOSE_DEMO_MODELS: modelsDir,
      SRPOSE_WARMUP: '0',
      PORT: String(port),
      HOST: '127.0.0.1',
    },
    port,
    timeoutMs: 60_000,
  });
}

/**
 * Headless Chromium on a profile folder (`userDataDir`) kept between launches: its HTTP cache and
 * compiled-code cache persist, as a returning visitor's browser has them; bounded start.
 */
export async function launchChromiumProfile(userDataDir: string): Promise<BrowserContext> {
  const { chromium } = await import('playwright-core');
  return await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 60_000,
  });
}

/** Headless Chromium with the required flags plus `extra`; bounded start. */
export async function launchChromium(extra: string[] = []): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, ...extra],
    timeout: 60_000,
  });
}

export interface RunOptions {
  /** A model folder served by the demo server (`models/<name>/`). */
  model: string;
  backend: 'auto' | 'webgpu' | 'wasm';
  worker?: boolean;
  flipTest?: boolean;
  boxes?: Box[];
  /** A person detector folder served by the demo server (`''`: none, the default). */
  detector?: string;
  /** The weights to load (the demo's `weights`; default auto). */
  weights?: string;
}

/** What a run in the page gave: the result, or the error `srposeDemo.lastError` recorded. */
export type PageRun =
  | { ok: true; result: EstimateResult; crossOriginIsolated: boolean; hardwareConcurrency: number }
  | {
    ok: false;
    error: { code?: string; message: string };
    lastError?: { code?: string; message: string };
  };

export interface AdapterInfo {
  gpu: boolean;
  adapter: boolean;
  isFallbackAdapter?: boolean;
  vendor?: string;
  architecture?: string;
  description?: string;
}

export interface DemoPage {
  readonly page: Page;
  /**
   * `performance.now()` here when the page began to load (after the browser context and tab
   * were made: a user's browser already has them).
   */
  readonly navigationStart: number;
  /** The page's console and errors so far (the last 40 lines), for failure messages. */
  logs(): string;
  run(photo: Uint8Array, o: RunOptions, timeoutMs?: number): Promise<PageRun>;
  /**
   * `srposeDemo.inputs`: the photo as every browser image kind through one estimator (see
   * src/demo/inputs.ts); the error as `{ error }`.
   */
  inputs(
    photo: Uint8Array,
    o: RunOptions & { boxes: Box[] },
    timeoutMs?: number,
  ): Promise<InputsReport | { error: { code?: string; message: string } }>;
  adapter(): Promise<AdapterInfo>;
  close(): Promise<void>;
}

/**
 * Opens the demo page at `url` in a new context of `browser`, or in `browser` itself when it is a
 * context (a profile's: closing the page then leaves it open), and waits for `srposeDemo.ready`.
 */
export async function openDemo(
  browser: Browser | BrowserContext,
  url: string,
): Promise<DemoPage> {
  const own = 'newContext' in browser;
  const context = own ? await browser.newContext() : browser;
  const page = await context.newPage();
  page.setDefaultTimeout(60_000);
  const lines: string[] = [];
  page.on('console', (m) => lines.push(`[${m.type()}] ${m.text().slice(0, 500)}`));
  page.on('pageerror', (e) => lines.push(`[pageerror] ${e.message}`));
  const navigationStart = performance.now();
  await page.goto(url, { timeout: 60_000 });
  await within(
    60_000,
    page.evaluate(() => (globalThis as any).srposeDemo.ready),
    'srposeDemo.ready',
  );
  return {
    page,
    navigationStart,
    logs: () => lines.slice(-40).join('\n'),
    async run(photo, o, timeoutMs = 240_000) {
      const b64 = Buffer.from(photo).toString('base64');
      return await within(
        timeoutMs,
        page.evaluate(async ({ b64, o }) => {
          const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
          const demo = (globalThis as any).srposeDemo;
          try {
            const result = await demo.run(bytes, o);
            return {
              ok: true as const,
              result,
              crossOriginIsolated,
              hardwareConcurrency: navigator.hardwareConcurrency,
            };
          } catch (e) {
            return {
              ok: false as const,
              error: { code: (e as any)?.code, message: String((e as Error)?.message ?? e) },
              lastError: demo.lastError,
            };
          }
        }, { b64, o }),
        `srposeDemo.run(${JSON.stringify(o)})`,
      ) as PageRun;
    },
    async inputs(photo, o, timeoutMs = 300_000) {
      const b64 = Buffer.from(photo).toString('base64');
      return await within(
        timeoutMs,
        page.evaluate(async ({ b64, o }) => {
          const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
          try {
            return await (globalThis as any).srposeDemo.inputs(bytes, o);
          } catch (e) {
            return {
              error: { code: (e as any)?.code, message: String((e as Error)?.stack ?? e) },
            };
          }
        }, { b64, o }),
        `srposeDemo.inputs(${JSON.stringify(o)})`,
      );
    },
    async adapter() {
      return await within(
        30_000,
        page.evaluate(async () => {
          const gpu = (navigator as any).gpu;
          if (!gpu) return { gpu: false, adapter: false };
          const a = await gpu.requestAdapter();
          if (!a) return { gpu: true, adapter: false };
          const info = a.info ?? {};
          return {
            gpu: true,
            adapter: true,
            isFallbackAdapter: Boolean(info.isFallbackAdapter ?? a.isFallbackAdapter),
            vendor: info.vendor,
            architecture: info.architecture,
            description: info.description,
          };
        }),
        'navigator.gpu.requestAdapter()',
      );
    },
    close: () => within(30_000, own ? context.close() : page.close(), 'closing the page'),
  };
}

/** The largest distance in image px between two people's keypoints (same order). */
export function worstDistance(a: EstimateResult, b: EstimateResult): number {
  const ka = a.people[0].keypoints;
  const kb = b.people[0].keypoints;
  if (ka.length !== kb.length) return Infinity;
  return Math.max(...ka.map((k, i) => Math.hypot(k.x - kb[i].x, k.y - kb[i].y)));
}

/**
 * Image px per heatmap px for `box` (SRPose: heatmap = model input, 192x256; box padded by 1.25).
 */
export function heatmapPixel(
  box: Box,
  input = { width: 192, height: 256 },
  padding = 1.25,
): number {
  const [, , w, h] = box;
  const aspect = input.width / input.height;
  const height = (w > aspect * h ? w / aspect : h) * padding;
  return height / input.height;
}

export async function readPhoto(): Promise<Uint8Array> {
  return new Uint8Array(await readFile(PHOTO));
}

export async function artifactDir(): Promise<string> {
  const dir = join(ROOT, '.cache', 'test-artifacts');
  await mkdir(dir, { recursive: true });
  return dir;
}

/**
 * Writes a Y4M clip (what Chromium's fake camera plays, `--use-file-for-fake-video-capture`):
 * `frames` windows of `width` x `height` panned across the shared photo, 4:2:0, BT.601.
 */
export async function writePhotoClip(
  path: string,
  o: { width: number; height: number; frames: number; fps: number },
): Promise<void> {
  const img = await decodeImage(await readPhoto());
  const { width: w, height: h } = o;
  const header = `YUV4MPEG2 W${w} H${h} F${o.fps}:1 Ip A1:1 C420jpeg\n`;
  const frameBytes = w * h * 3 / 2;
  const out = new Uint8Array(header.length + o.frames * (6 + frameBytes));
  out.set(new TextEncoder().encode(header));
  let at = header.length;
  for (let f = 0; f < o.frames; f++) {
    out.set(new TextEncoder().encode('FRAME\n'), at);
    at += 6;
    const x0 = Math.round((img.width - w) * f / Math.max(1, o.frames - 1));
    const y0 = Math.round((img.height - h) / 2);
    const y = out.subarray(at, at + w * h);
    const u = out.subarray(at + w * h, at + w * h * 5 / 4);
    const v = out.subarray(at + w * h * 5 / 4, at + frameBytes);
    for (let r = 0; r < h; r++) {
      for (let c = 0; c < w; c++) {
        const i = ((y0 + r) * img.width + x0 + c) * 3;
        const [R, G, B] = [img.data[i], img.data[i + 1], img.data[i + 2]];
        y[r * w + c] = 0.299 * R + 0.587 * G + 0.114 * B;
        if (r % 2 === 0 && c % 2 === 0) {
          const k = (r / 2) * (w / 2) + c / 2;
          u[k] = 128 - 0.168736 * R - 0.331264 * G + 0.5 * B;
          v[k] = 128 + 0.5 * R - 0.418688 * G - 0.081312 * B;
        }
      }
    }
    at += frameBytes;
  }
  await writeFile(path, out);
}
