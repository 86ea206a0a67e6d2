// Where a probe's features come from: an image set (ImageFolder folder or filepath,label CSV),
// encoded with the model — through a cache file when a cache folder is given — or a feature file
// written by `clip-ts features`. Test sets are aligned to the training set's class list by name.
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { ClipModel } from '../model/index.js';
import { loadModelFile, resolveModelFile } from '../model/index.js';
import {
  dataFingerprint, extractFeatures, isFeatureFile, modelFingerprint, readFeatureFile, reusableFeatureFile, type FeatureSet,
} from './features.js';
import { readLabelledImages } from './labelled-images.js';

/** A model loaded on first use, so that probes over feature files never load one. */
export class LazyModel {
  private loaded: { model: ClipModel; file: string } | undefined;

  /** `nameOrPath` as for loadModel (undefined: the bundled default). */
  constructor(private readonly nameOrPath: string | undefined, private readonly cacheDir?: string) {}

  get requested(): string | undefined {
    return this.nameOrPath;
  }

  /** The checkpoint file (resolving a registry name), without loading it. */
  file(): string {
    return this.loaded?.file ?? resolveModelFile(this.nameOrPath, this.cacheDir !== undefined ? { cacheDir: this.cacheDir } : {});
  }

  get(): { model: ClipModel; file: string } {
    if (this.loaded === undefined) {
      const file = this.file();
      this.loaded = { model: loadModelFile(file), file };
    }
    return this.loaded;
  }
}

export interface LoadFeaturesOptions {
  /** Align to this class list (the training set's): labels are remapped by class name. */
  classes?: readonly string[];
  /** Folder for cache files of image sets (reused when model and images are unchanged). */
  featuresDir?: string;
  batchSize?: number;
  workers?: number;
  onProgress?: (done: number, total: number) => void;
  /** Told when a cache file is reused or written. */
  onCache?: (file: string, reused: boolean) => void;
}

/** Remaps a feature set's labels onto `classes` by name; a class unknown there is an error. */
function alignClasses(set: FeatureSet, classes: readonly string[], source: string): FeatureSet {
  const own = set.header.classes;
  if (own.length === classes.length && own.every((c, i) => c === classes[i])) return set;
  const index = new Map(classes.map((c, i) => [c, i] as const));
  const map = own.map((c) => {
    const i = index.get(c);
    if (i === undefined) throw new Error(`${source}: class "${c}" is not one of the training classes (${classes.join(', ')})`);
    return i;
  });
  const labels = set.labels.map((l) => map[l]);
  return { ...set, header: { ...set.header, classes: [...classes] }, labels };
}

/** Features and labels of `source` (a feature file, an ImageFolder folder or a CSV). */
export async function loadLabelledFeatures(source: string, model: LazyModel, opts: LoadFeaturesOptions = {}): Promise<FeatureSet> {
  if (isFeatureFile(source)) {
    const set = readFeatureFile(source);
    return opts.classes !== undefined ? alignClasses(set, opts.classes, source) : set;
  }
  const data = readLabelledImages(source, opts.classes !== undefined ? { classes: opts.classes } : {});
  let out: string | undefined;
  if (opts.featuresDir !== undefined) {
    mkdirSync(opts.featuresDir, { recursive: true });
    // One cache file per (model, image set); the name says which set it is for.
    const key = createHash('sha256')
      .update(JSON.stringify(modelFingerprint(model.file())))
      .update(dataFingerprint(data))
      .digest('hex')
      .slice(0, 16);
    const base = path.basename(path.resolve(source)).replace(/[^A-Za-z0-9._-]+/g, '_');
    out = path.join(opts.featuresDir, `${base}-${key}.feats`);
    const cached = reusableFeatureFile(out, model.file(), data);
    if (cached !== undefined) {
      opts.onCache?.(out, true);
      return cached;
    }
  }
  const { model: m, file } = model.get();
  const r = await extractFeatures({
    model: m, modelFile: file, data,
    ...(out !== undefined ? { out } : {}),
    ...(opts.batchSize !== undefined ? { batchSize: opts.batchSize } : {}),
    ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
    ...(opts.onProgress !== undefined ? { onProgress: opts.onProgress } : {}),
  });
  if (out !== undefined) opts.onCache?.(out, r.reused);
  return r.set;
}
