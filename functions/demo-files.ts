/**
 * The demo's files for servers with a disk (Node, Deno): `static/*` from the browser build
 * (dist/browser) and `models/<name>/*` from the model folders the demo offers. Turned on by
 * SRPOSE_DEMO=1; SRPOSE_DEMO_MODELS is a folder of exported model folders (default: the
 * served model, when SRPOSE_MODEL is a folder).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DemoOptions } from '../src/server/demo.ts';
import { parseYesNo } from '../src/platform/env.ts';

export function demoFromEnv(
  env: Record<string, string | undefined>,
  here: string,
): DemoOptions | undefined {
  if (parseYesNo(env.SRPOSE_DEMO) !== true) return undefined;
  // Beside the sources (functions/) or beside a bundle (dist/<target>/).
  const dir = fileURLToPath(new URL('.', here));
  const staticDir = [
    env.SRPOSE_DEMO_STATIC,
    join(dir, '..', 'dist', 'browser'),
    join(dir, '..', 'browser'),
  ]
    .find((d) => d && existsSync(join(d, 'demo.mjs')));
  if (!staticDir) {
    throw new Error('SRPOSE_DEMO needs the browser build (npm run build: dist/browser)');
  }
  const folders = new Map<string, string>();
  const model = env.SRPOSE_MODEL;
  if (env.SRPOSE_DEMO_MODELS) {
    for (const name of readdirSync(env.SRPOSE_DEMO_MODELS)) {
      const d = join(env.SRPOSE_DEMO_MODELS, name);
      if (existsSync(join(d, 'srpose.json'))) folders.set(name, resolve(d));
    }
  } else if (model && existsSync(join(model, 'srpose.json')) && statSync(model).isDirectory()) {
    folders.set(basename(resolve(model)), resolve(model));
  }
  // pose models and person detectors, told apart by their contract
  const isDetector = (name: string) => {
    try {
      return JSON.parse(readFileSync(join(folders.get(name)!, 'srpose.json'), 'utf8')).kind ===
        'detector';
    } catch {
      return false;
    }
  };
  const entry = (name: string) => ({ name, source: `models/${name}/` });
  const names = [...folders.keys()].sort();
  const models = names.filter((n) => !isDetector(n)).map(entry);
  const detectors = names.filter(isDetector).map(entry);
  // a Hub id
  if (model && !folders.size && !existsSync(model)) models.push({ name: model, source: model });
  return {
    models,
    detectors,
    async assets(path) {
      const [top, first, ...rest] = path.split('/');
      const file = top === 'static'
        ? join(staticDir, first, ...rest)
        : folders.has(first)
        ? join(folders.get(first)!, ...rest)
        : undefined;
      if (!file) return undefined;
      const st = await stat(file, { bigint: true }).catch(() => undefined);
      if (!st?.isFile()) return undefined;
      // size and mtime in ns: a file written again gets a new tag
      return {
        etag: `W/"${st.size.toString(36)}-${st.mtimeNs.toString(36)}"`,
        read: async () => new Uint8Array(await readFile(file)),
      };
    },
  };
}
