/**
 * The demo page on the app (`GET /`), its script and the onnxruntime-web / codec WASM
 * (`/static/*`), and model files for in-browser inference (`/models/*`), all from one origin.
 * Every answer carries the cross-origin isolation headers (COOP + COEP) that WASM threads need;
 * `GET /?isolated=0` leaves them off the page, to see the one-thread fallback.
 * @module
 */
import type { Hono } from 'hono';
import { DEMO_HTML } from '../demo/page.ts';

/** What the demo serves; the platform entry supplies the files (the app reads no disk). */
export interface DemoOptions {
  /** Bytes of `static/<file>` (dist/browser) or `models/<name>/<file>`; undefined when absent. */
  assets: (path: string) => Promise<Uint8Array | undefined>;
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
      const bytes = await demo.assets(`${prefix}/${rel}`);
      if (!bytes) return c.notFound();
      const ext = rel.slice(rel.lastIndexOf('.') + 1);
      return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
        'Content-Type': TYPES[ext] ?? 'application/octet-stream',
        'Cache-Control': prefix === 'static' ? 'public, max-age=3600' : 'no-cache',
      });
    });
  serve('static');
  serve('models');
}
