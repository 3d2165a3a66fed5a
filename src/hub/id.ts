import { SRPoseError } from '../errors.ts';

/** A model on the Hugging Face Hub: `owner/name`, at a branch, tag or commit. */
export interface HubModelId {
  repo: string;
  revision: string;
}

const REPO = /^[A-Za-z0-9][\w.-]{0,95}\/[A-Za-z0-9][\w.-]{0,95}$/;

/** True when `text` has the shape of a Hub id (`owner/name` or `owner/name@revision`). */
export function looksLikeHubId(text: string): boolean {
  const at = text.indexOf('@');
  const repo = at < 0 ? text : text.slice(0, at);
  return REPO.test(repo) && !repo.includes('..') && (at < 0 || text.length > at + 1);
}

/** Parses `owner/name[@revision]`; `revision` (an option) wins over none in the id. */
export function parseHubId(text: string, revision?: string): HubModelId {
  if (!looksLikeHubId(text)) {
    throw new SRPoseError(
      'INVALID_OPTION',
      `"${text}" is not a Hub model id (owner/name or owner/name@revision)`,
    );
  }
  const at = text.indexOf('@');
  const repo = at < 0 ? text : text.slice(0, at);
  const inId = at < 0 ? undefined : text.slice(at + 1);
  if (inId !== undefined && revision !== undefined && inId !== revision) {
    throw new SRPoseError(
      'INVALID_OPTION',
      `"${text}" names revision ${inId} but the revision option says ${revision}`,
    );
  }
  return { repo, revision: inId ?? revision ?? 'main' };
}
