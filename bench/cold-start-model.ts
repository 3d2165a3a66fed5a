/**
 * What the cold-start targets share (bench/cold-start.ts, bench/cold-start-edge.ts): their
 * options, the photo, and the exported test model served by the local Hub-compatible server.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HubServer } from '../tests/helpers/hub-server.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const PHOTO = join(ROOT, '..', 'shared', 'data', 'coco', '000000000785.jpg');

export interface ColdStartOptions {
  arch: string;
  targets: string[];
  starts: number;
  steady: number;
  weights?: string;
  backend?: string;
  /** workerd: a person detector (an exported test model, e.g. yolox_nano) loaded beside. */
  detector?: string;
  /** browser: the page's WASM threads (the demo's `?threads=`; default its cores). */
  threads?: number;
  /**
   * browser: the page loads the model by Hub id from the local Hub server (the demo's `?hub=`;
   * srpose's Cache API cache), not by URL from the demo server (the browser's HTTP cache).
   */
  fromHub?: boolean;
}

/**
 * Serves the exported model `arch` (srpose.json and every file it names) as `bench/<arch>`, on
 * `hub` or a new local Hub server.
 */
export async function serveModel(
  arch: string,
  on?: HubServer,
): Promise<{ hub: HubServer; repo: string }> {
  const dir = join(ROOT, '.cache', 'models', arch);
  if (!existsSync(join(dir, 'srpose.json')) || !existsSync(PHOTO)) {
    throw new Error(`needs npm run models (${arch}) and ../shared/data`);
  }
  const { startHubServer } = await import('../tests/helpers/hub-server.ts');
  const { parseContract } = await import('../src/model/config.ts');
  const { contractFiles } = await import('../src/model/publish.ts');
  const config = parseContract(JSON.parse(readFileSync(join(dir, 'srpose.json'), 'utf8')));
  const hub = on ?? await startHubServer();
  const repo = `bench/${arch}`;
  hub.addRepo(repo);
  const names = ['srpose.json', ...contractFiles(config).map((f) => f.file)];
  hub.commit(repo, Object.fromEntries(names.map((f) => [f, readFileSync(join(dir, f))])));
  return { hub, repo };
}
