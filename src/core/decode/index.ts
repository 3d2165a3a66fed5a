/** Heatmap decoders, one module per method (see each for the exact official rules). */
export type { CropFrame, DecodedKeypoints, Heatmaps } from './types.ts';
export { decodeSR } from './sr.ts';
export { decodeDefault } from './default.ts';
export { decodeDark, gaussianKernel } from './dark.ts';
export { heatmapToImage, quarterOffset } from './transform.ts';
