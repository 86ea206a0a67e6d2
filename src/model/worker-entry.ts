// The worker side of ModelWorker: loads one model, then answers encode requests in order.
import { parentPort } from 'node:worker_threads';
import { native, noGrad, setMatmulPrecision } from '../tensor/index.js';
import type { ClipModel } from './clip.js';
import { describeConfig } from './config.js';
import { loadModelFile } from './load.js';
import type { WorkerRequest, WorkerResponse } from './worker-protocol.js';

let model: ClipModel | null = null;

function handle(req: WorkerRequest): { reply: WorkerResponse; transfer: ArrayBuffer[] } {
  if (req.kind === 'load') {
    if (req.threads > 0) native().setThreads(req.threads);
    setMatmulPrecision(req.precision);
    model = loadModelFile(req.path);
    const c = model.config;
    return {
      reply: { id: req.id, kind: 'loaded', info: { imageSize: c.vision.imageSize, contextLength: c.text.contextLength, embedDim: c.embedDim, description: describeConfig(c) } },
      transfer: [],
    };
  }
  if (model === null) throw new Error('no model loaded');
  const m = model;
  const features = noGrad(() => (req.kind === 'image' ? m.encodeImage(m.imageTensor(req.pixels)) : m.encodeText(req.tokens)));
  const out = features.data as Float32Array;
  return { reply: { id: req.id, kind: 'features', features: out }, transfer: [out.buffer as ArrayBuffer] };
}

const port = parentPort;
if (port === null) throw new Error('worker-entry must run in a worker thread');
port.on('message', (req: WorkerRequest) => {
  try {
    const { reply, transfer } = handle(req);
    port.postMessage(reply, transfer);
  } catch (err) {
    port.postMessage({ id: req.id, kind: 'error', message: err instanceof Error ? err.message : String(err) } satisfies WorkerResponse);
  }
});
