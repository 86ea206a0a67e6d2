// The thread behind InferenceWorker: loads one model, then answers requests in arrival order.
// Zero-shot classifiers (the averaged prompt embeddings of a label set) are kept for the most
// recent label sets, since a page usually classifies many images against the same labels.
import { parentPort } from 'node:worker_threads';
import { buildZeroShotClassifier, type ZeroShotClassifier } from '../eval/zeroshot.js';
import { decodeImage, ImageDecodeError, preprocess } from '../image/index.js';
import type { ClipModel } from '../model/clip.js';
import { describeConfig } from '../model/config.js';
import { loadModelFile } from '../model/load.js';
import { l2Normalize, native, noGrad, setMatmulPrecision, type Tensor } from '../tensor/index.js';
import { tokenize } from '../text/index.js';
import type { InferenceRequest, InferenceResponse } from './inference-protocol.js';
import { LruCache } from './lru-cache.js';

const CLASSIFIERS_KEPT = 16;

let model: ClipModel | null = null;
const classifiers = new LruCache<string, ZeroShotClassifier>({ maxEntries: CLASSIFIERS_KEPT });

function loaded(): ClipModel {
  if (model === null) throw new Error('no model loaded');
  return model;
}

function asFloat32(t: Tensor): Float32Array {
  return t.data instanceof Float32Array ? t.data : Float32Array.from(t.data);
}

async function imageFeatures(m: ClipModel, bytes: Uint8Array, name: string, maxPixels: number): Promise<Tensor> {
  const pixels = preprocess(await decodeImage(bytes, { name, maxPixels }), m.imageSize);
  return m.embedImages(m.imageTensor(pixels, 1));
}

function classifierFor(m: ClipModel, labels: string[], templateSet: string, templates: string[]): ZeroShotClassifier {
  const key = JSON.stringify([templateSet, labels]);
  let c = classifiers.get(key);
  if (c === undefined) {
    c = buildZeroShotClassifier(m, labels, { templates, truncate: true, batchSize: 64 });
    classifiers.set(key, c, 1);
  }
  return c;
}

async function handle(req: InferenceRequest): Promise<{ reply: InferenceResponse; transfer: ArrayBuffer[] }> {
  switch (req.kind) {
    case 'load': {
      if (req.threads > 0) native().setThreads(req.threads);
      setMatmulPrecision(req.precision);
      model = loadModelFile(req.path);
      const c = model.config;
      const info = { imageSize: c.vision.imageSize, contextLength: c.text.contextLength, embedDim: c.embedDim, description: describeConfig(c) };
      return { reply: { id: req.id, kind: 'loaded', info }, transfer: [] };
    }
    case 'embed-texts': {
      const m = loaded();
      const tokens = tokenize(req.texts, { contextLength: m.contextLength, truncate: true });
      const vectors = asFloat32(noGrad(() => l2Normalize(m.encodeText(tokens.ids))));
      return { reply: { id: req.id, kind: 'vectors', vectors, count: req.texts.length, dim: m.config.embedDim }, transfer: [vectors.buffer as ArrayBuffer] };
    }
    case 'embed-image': {
      const m = loaded();
      const features = await imageFeatures(m, req.bytes, req.name, req.maxPixels);
      const vectors = asFloat32(noGrad(() => l2Normalize(features)));
      return { reply: { id: req.id, kind: 'vectors', vectors, count: 1, dim: m.config.embedDim }, transfer: [vectors.buffer as ArrayBuffer] };
    }
    case 'classify': {
      const m = loaded();
      // Labels first: a bad label set fails before the image is decoded.
      const classifier = classifierFor(m, req.labels, req.templateSet, req.templates);
      const features = await imageFeatures(m, req.bytes, req.name, req.maxPixels);
      const [best] = classifier.classify(features, req.labels.length);
      const predictions = best.map((p) => ({ label: p.label, probability: p.probability }));
      return { reply: { id: req.id, kind: 'predictions', predictions }, transfer: [] };
    }
  }
}

const port = parentPort;
if (port === null) throw new Error('inference-worker-entry must run in a worker thread');
// One request at a time: the compute core already uses every thread it is given, and answering in
// order keeps a slow classification from being overtaken by work queued behind it.
let chain: Promise<void> = Promise.resolve();
port.on('message', (req: InferenceRequest) => {
  chain = chain.then(async () => {
    try {
      const { reply, transfer } = await handle(req);
      port.postMessage(reply, transfer);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const reply: InferenceResponse = err instanceof ImageDecodeError
        ? { id: req.id, kind: 'error', message, reason: 'image', imageErrorKind: err.kind }
        : { id: req.id, kind: 'error', message, reason: 'internal' };
      port.postMessage(reply);
    }
  });
});
