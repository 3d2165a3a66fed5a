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
}

/** Serves the exported model `arch` (srpose.json and every file it names) as `bench/<arch>`. */
export async function serveModel(arch: string): Promise<{ hub: HubServer; repo: string }> {
  const dir = join(ROOT, '.cache', 'models', arch);
  if (!existsSync(join(dir, 'srpose.json')) || !existsSync(PHOTO)) {
    throw new Error(`needs npm run models (${arch}) and ../shared/data`);
  }
  const { startHubServer } = await import('../tests/helpers/hub-server.ts');
  const { loadModel } = await import('../src/model/source.ts');
  const { contractFiles } = await import('../src/model/publish.ts');
  const { config } = await loadModel(dir);
  const hub = await startHubServer();
  const repo = `bench/${arch}`;
  hub.addRepo(repo);
  const names = ['srpose.json', ...contractFiles(config).map((f) => f.file)];
  hub.commit(repo, Object.fromEntries(names.map((f) => [f, readFileSync(join(dir, f))])));
  return { hub, repo };
}
