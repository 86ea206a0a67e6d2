// Image indexes: embed a folder of images into a LanceDB database, search it by text or image,
// find near-duplicates.
export {
  ImageIndex, ImageIndexError, type ImageIndexErrorReason, type ImageIndexOptions, type ImageRow, type IndexedImage,
  type IndexModelInfo, type SearchEngine, type SearchHit,
} from './image-index.js';
export {
  DEFAULT_MODEL_NAME, ModelMismatchError, checkSameModel, fileSha256, loadIndexModel, loadModelForIndex, recordedModelName,
  type IndexModel, type LoadIndexModelOptions,
} from './index-model.js';
export { INDEXED_IMAGE_EXTENSIONS, isImageFile, scanImages, type ScanProblem, type ScanResult, type ScannedFile } from './scan.js';
export { indexDirectory, type IndexDirectoryOptions, type IndexProgress, type IndexReport, type SkippedFile } from './indexer.js';
export { imageQueryVector, searchByImage, searchByText, textQueryVector, type TextQueryOptions } from './search.js';
export {
  DEFAULT_DEDUP_THRESHOLD, findDuplicates, findOverlap, forEachSimilarPair, type DedupOptions, type DuplicateGroup,
  type DuplicateGroupsReport, type DuplicatePair, type OverlapReport, type VectorSet,
} from './dedup.js';
export { VectorMatrix } from './vector-matrix.js';
export { topK, type Ranked } from './top-k.js';
