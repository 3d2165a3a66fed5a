/**
 * The demo page on the app (`GET /`), its script and the onnxruntime-web / codec WASM
 * (`/static/*`), and model files for in-browser inference (`/models/*`), all from one origin.
 * Every answer carries the cross-origin isolation headers (COOP + COEP) that WASM threads need;
 * `GET /?isolated=0` leaves them off the page, to see the one-thread fallback.
 * @module
 */
import type { Hono } from 'hono';
import { DEMO_HTML } from '../demo/page.ts';

/** One file the demo serves: a version tag known without reading it, and a way to read it. */
export interface DemoAsset {
  /**
   * An HTTP entity tag that changes with the file (e.g. `W/"size-mtime"`): a browser that holds
   * the file asks again with it and gets 304 instead of the bytes (a returning visitor's model).
   */
  etag?: string;
  read(): Promise<Uint8Array>;
}

/** What the demo serves; the platform entry supplies the files (the app reads no disk). */
export interface DemoOptions {
  /** `static/<file>` (dist/browser) or `models/<name>/<file>`; undefined when absent. */
  assets: (path: string) => Promise<DemoAsset | undefined>;
  /**
   * The models the page offers: a name and a source (`models/<name>/` served here, a URL, or a Hub
   * id).
   */
  models: { name: string; source: string }[];
  /** The person detectors the page offers (beside "none"), as `models`. */
  detectors?: { name: string; source: string }[];
}

const TYPES: Record<string, string> = {
  mjs: 'text/javascript; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  wasm: 'application/wasm',
  json: 'application/json',
  html: 'text/html; charset=utf-8',
};

export function mountDemo(app: Hono, demo: DemoOptions): void {
  app.use('*', async (c, next) => {
    await next();
    const url = new URL(c.req.url);
    if (url.pathname === '/' && url.searchParams.get('isolated') === '0') return;
    c.res.headers.set('Cross-Origin-Opener-Policy', 'same-origin');
    c.res.headers.set('Cross-Origin-Embedder-Policy', 'require-corp');
    c.res.headers.set('Cross-Origin-Resource-Policy', 'same-origin');
  });
  app.get('/', (c) => c.html(DEMO_HTML));
  app.get(
    '/demo/config.json',
    (c) => c.json({ models: demo.models, detectors: demo.detectors ?? [] }),
  );
  const serve = (prefix: 'static' | 'models') =>
    app.get(`/${prefix}/*`, async (c) => {
      const rel = decodeURIComponent(new URL(c.req.url).pathname.slice(prefix.length + 2));
      // Only plain names below the folder: no climbing out, no hidden files.
      if (!rel || rel.split('/').some((p) => p === '' || p.startsWith('.'))) return c.notFound();
      const asset = await demo.assets(`${prefix}/${rel}`);
      if (!asset) return c.notFound();
      const ext = rel.slice(rel.lastIndexOf('.') + 1);
      const headers: Record<string, string> = {
        'Content-Type': TYPES[ext] ?? 'application/octet-stream',
        // models may be exported again under the same name: always asked again (by etag)
        'Cache-Control': prefix === 'static' ? 'public, max-age=3600' : 'no-cache',
        ...(asset.etag ? { ETag: asset.etag } : {}),
      };
      const known = c.req.header('If-None-Match')?.split(',').map((t) => t.trim());
      if (asset.etag && known?.some((t) => t === asset.etag || t === '*')) {
        return c.body(null, 304, headers);
      }
      return c.body(await asset.read() as Uint8Array<ArrayBuffer>, 200, headers);
    });
  serve('static');
  serve('models');
}
